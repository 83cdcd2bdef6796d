package layer

import (
	"archive/tar"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/safeunpack/safeunpack/pathrs"
)

func TestOptionsValidation(t *testing.T) {
	cases := []struct {
		name string
		opts Options
		// unsupported: the error must also match errors.ErrUnsupported.
		unsupported bool
	}{
		{name: "negative-bytes", opts: Options{Limits: Limits{MaxBytes: -1}}},
		{name: "negative-entries", opts: Options{Limits: Limits{MaxEntries: -1}}},
		{name: "negative-tracked", opts: Options{Limits: Limits{MaxTrackedPaths: -5}}},
		{name: "hops-lowered", opts: Options{Limits: Limits{MaxSymlinkHops: 10}}, unsupported: true},
		{name: "hops-raised", opts: Options{Limits: Limits{MaxSymlinkHops: 255}}, unsupported: true},
		{name: "tiny-window", opts: Options{Limits: Limits{ZstdMaxWindow: 100}}},
		{name: "media-type", opts: Options{MediaType: "text/plain"}},
		{name: "uid-map-empty", opts: Options{UIDMap: []IDMap{{0, 1000, 0}}}},
		{name: "uid-map-overflow", opts: Options{UIDMap: []IDMap{{0, 1<<31 + 1, 1 << 31}}}},
		{name: "gid-map-overlap", opts: Options{GIDMap: []IDMap{{0, 1000, 10}, {5, 2000, 10}}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := applyTo(t, t.TempDir(), pathrs.ResolverAuto, sampleLayer(t), tc.opts)
			if !errors.Is(err, ErrInvalidOptions) {
				t.Errorf("Apply: got %v, want ErrInvalidOptions", err)
			}
			if tc.unsupported && !errors.Is(err, errors.ErrUnsupported) {
				t.Errorf("Apply: got %v, want errors.ErrUnsupported too", err)
			}
			if _, err := Audit(t.Context(), strings.NewReader(""), tc.opts); !errors.Is(err, ErrInvalidOptions) {
				t.Errorf("Audit: got %v, want ErrInvalidOptions", err)
			}
		})
	}
	if _, err := (&Options{Limits: Limits{MaxSymlinkHops: 40}}).validate(); err != nil {
		t.Errorf("MaxSymlinkHops 40: %v", err)
	}
	if d := DefaultLimits(); d.MaxBytes != 1<<40 || d.MaxEntries != 10_000_000 || d.MaxSymlinkHops != 40 || d.ZstdMaxWindow != 128<<20 {
		t.Errorf("DefaultLimits() = %+v", d)
	}
}

// wantLimit asserts err is a LimitError for limit inside an EntryError
// naming entry.
func wantLimit(t *testing.T, err error, limit, entry string) {
	t.Helper()
	le, ok := errors.AsType[*LimitError](err)
	if !ok || le.Limit != limit || !errors.Is(err, ErrLimitExceeded) {
		t.Fatalf("got %v, want a %s LimitError", err, limit)
	}
	ee, ok := errors.AsType[*EntryError](err)
	if !ok || ee.Entry != entry {
		t.Errorf("got %v, want an EntryError naming %q", err, entry)
	}
	if !strings.Contains(err.Error(), limit) {
		t.Errorf("message %q does not name %s", err, limit)
	}
}

func TestLimits(t *testing.T) {
	t.Run("MaxEntries", func(t *testing.T) {
		data := newTar(t).File("a", 0o644, "").File("b", 0o644, "").File("c", 0o644, "").Bytes()
		dir := t.TempDir()
		_, err := applyTo(t, dir, pathrs.ResolverAuto, data, Options{Limits: Limits{MaxEntries: 2}})
		wantLimit(t, err, "MaxEntries", "c")
		assertTree(t, dir, "file a 0644", "file b 0644")
	})
	t.Run("MaxHeaderSize", func(t *testing.T) {
		b := newTar(t)
		b.Header(&tar.Header{Typeflag: tar.TypeReg, Name: "p", Mode: 0o644, Uid: b.UID, Gid: b.GID,
			PAXRecords: map[string]string{"comment": strings.Repeat("c", 8<<10)}}, nil)
		_, err := applyTo(t, t.TempDir(), pathrs.ResolverAuto, b.Bytes(), Options{Limits: Limits{MaxHeaderSize: 4 << 10}})
		wantLimit(t, err, "MaxHeaderSize", "p")
	})
	t.Run("MaxHeaderSize-long-name", func(t *testing.T) {
		name := strings.Repeat("d/", 1000) + "f"
		b := newTar(t)
		b.Header(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: 0o644, Uid: b.UID, Gid: b.GID, Format: tar.FormatGNU}, nil)
		_, err := applyTo(t, t.TempDir(), pathrs.ResolverAuto, b.Bytes(), Options{Limits: Limits{MaxHeaderSize: 1024}})
		wantLimit(t, err, "MaxHeaderSize", name)
	})
	t.Run("MaxBytes-declared", func(t *testing.T) {
		// The header says 2 GiB; the data is not even there. The file is
		// refused before it is created.
		blk := newTar(t).File("big", 0o644, "").Bytes()[:512]
		copy(blk[124:136], fmt.Sprintf("%011o\x00", 2<<30))
		fixChecksum(blk)
		dir := t.TempDir()
		_, err := applyTo(t, dir, pathrs.ResolverAuto, blk, Options{Limits: Limits{MaxBytes: 1 << 20}})
		wantLimit(t, err, "MaxBytes", "big")
		assertTree(t, dir)
	})
	t.Run("MaxTrackedPaths", func(t *testing.T) {
		b := newTar(t)
		for i := range 20 {
			b.Dir(fmt.Sprintf("d%02d", i), 0o755)
		}
		_, err := applyTo(t, t.TempDir(), pathrs.ResolverAuto, b.Bytes(), Options{Limits: Limits{MaxTrackedPaths: 8}})
		if le, ok := errors.AsType[*LimitError](err); !ok || le.Limit != "MaxTrackedPaths" {
			t.Fatalf("got %v, want a MaxTrackedPaths LimitError", err)
		}
	})
	t.Run("NameLength", func(t *testing.T) {
		name := strings.Repeat("x", 200) + "/" + strings.Repeat("y/", 2000) + "z"
		b := newTar(t).File(name, 0o644, "")
		_, err := applyTo(t, t.TempDir(), pathrs.ResolverAuto, b.Bytes(), Options{})
		wantLimit(t, err, "NameLength", name)
	})
	t.Run("SymlinkHops", func(t *testing.T) {
		b := newTar(t)
		for _, s := range symlinkChain(41)[1:] {
			var name, target string
			fmt.Sscanf(s, "symlink %s -> %s", &name, &target)
			b.Symlink(name, target)
		}
		b.Dir("d", 0o755).File("l0/x", 0o644, "x")
		_, err := applyTo(t, t.TempDir(), pathrs.ResolverEmulated, b.Bytes(), Options{})
		wantLimit(t, err, "MaxSymlinkHops", "l0/x")
	})
}

// TestErrorMessages pins the shape of errors: entry name and offset, once
// per layer, the cause last.
func TestErrorMessages(t *testing.T) {
	b := newTar(t).File("a", 0o644, "x")
	b.Header(&tar.Header{Typeflag: tar.TypeReg, Name: "bad/mode", Mode: 0o200644, Uid: b.UID, Gid: b.GID}, nil)
	_, err := applyTo(t, t.TempDir(), pathrs.ResolverAuto, b.Bytes(), Options{})
	if !errors.Is(err, ErrInvalidEntry) {
		t.Fatalf("got %v, want ErrInvalidEntry", err)
	}
	if want := `layer: entry "bad/mode" at offset 1024: layer: invalid tar entry: mode 0200644`; !strings.HasPrefix(err.Error(), want) {
		t.Errorf("message %q, want prefix %q", err, want)
	}
	if strings.Count(err.Error(), "entry \"") != 1 {
		t.Errorf("message %q names the entry more than once", err)
	}

	// A corrupt header after two good entries: named by what came before.
	data := newTar(t).File("one", 0o644, "1").File("two", 0o644, "2").File("three", 0o644, "3").Bytes()
	data[2048+148] ^= 0x01 // the checksum of "three"
	_, err = applyTo(t, t.TempDir(), pathrs.ResolverAuto, data, Options{})
	ee, ok := errors.AsType[*EntryError](err)
	if !ok || ee.After != "two" || !errors.Is(err, ErrInvalidArchive) || !errors.Is(err, tar.ErrHeader) {
		t.Fatalf("got %v, want an invalid-archive EntryError after \"two\"", err)
	}
	if !strings.HasPrefix(err.Error(), `layer: after entry "two", at offset `) {
		t.Errorf("message %q", err)
	}

	// Unknown type flag.
	data = newTar(t).File("odd", 0o644, "").Bytes()
	data[156] = 'X'
	fixChecksum(data)
	_, err = applyTo(t, t.TempDir(), pathrs.ResolverAuto, data, Options{})
	if !errors.Is(err, ErrInvalidEntry) || !strings.Contains(err.Error(), "type flag 'X'") {
		t.Errorf("unknown type flag: got %v", err)
	}
}
