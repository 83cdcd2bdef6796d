package layer

import (
	"archive/tar"
	"bytes"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/opencontainers/go-digest"

	"github.com/safeunpack/safeunpack/internal/testutil"
)

// TestAudit: every hazard kind is reported for the entry that carries it,
// with its offset; a clean layer has none; the DiffID matches Apply's.
func TestAudit(t *testing.T) {
	b := testutil.NewTarBuilder(t, 0, 0)
	add := func(h *tar.Header) { b.Header(h, nil) }
	b.File("../../etc/shadow", 0o600, "")                                      // name-outside-root (clamped)
	b.File("/abs", 0o644, "")                                                  // name-outside-root (absolute)
	b.Symlink("a/up", "../../../host")                                         // symlink-outside-root
	b.Symlink("a/abs", "/../../host")                                          // symlink-outside-root (absolute with ..)
	b.Symlink("a/ok", "/usr/bin")                                              // fine: absolute, re-rooted
	b.Hardlink("h1", "../../victim/hello")                                     // hardlink-outside-root
	b.Symlink("lnk", "/etc")                                                   // (a symlink of this layer)
	b.File("lnk/passwd", 0o644, "")                                            // path-through-symlink
	b.Hardlink("h2", "lnk")                                                    // hardlink-to-symlink
	b.Whiteout(".wh..")                                                        // invalid-whiteout
	b.Whiteout(".wh..wh..opq")                                                 // opaque-root
	b.Char("dev/mem", 0o666, 1, 1)                                             // device + world-writable
	b.File("bin/su", 0o4755, "")                                               // setuid
	b.File("bin/wall", 0o2755, "")                                             // setgid
	b.Dir("tmp", 0o1777)                                                       // fine: sticky
	b.Dir("pub", 0o777)                                                        // world-writable
	add(&tar.Header{Typeflag: tar.TypeSymlink, Name: "./", Linkname: "/"})     // root-replacement
	add(&tar.Header{Typeflag: tar.TypeReg, Name: "odd", Mode: 0o644, Uid: -0}) // fine
	add(&tar.Header{Typeflag: tar.TypeReg, Name: "badmode", Mode: 0o1000000})  // invalid-entry
	add(&tar.Header{Typeflag: tar.TypeReg, Name: "x", Mode: 0o644,
		PAXRecords: map[string]string{"SCHILY.xattr.trusted.overlay.redirect": "/x", "SCHILY.xattr.security.capability": "c"}})
	data := b.Bytes()
	// A huge declared size, patched in (the data is not there: Audit does
	// not read data, but the stream must still be a valid archive, so the
	// entry is the last one and truncation follows).
	big := newTar(t).File("big", 0o644, "").Bytes()[:512]
	copy(big[124:136], fmt.Sprintf("%011o\x00", int64(3)<<30))
	fixChecksum(big)

	rep, err := Audit(t.Context(), bytes.NewReader(gzipBytes(t, data)), Options{})
	if err != nil {
		t.Fatalf("Audit: %v", err)
	}
	if rep.DiffID != digest.FromBytes(data) || rep.Entries != 20 {
		t.Errorf("DiffID %s entries %d", rep.DiffID, rep.Entries)
	}
	want := map[string][]string{
		"../../etc/shadow": {FindingNameOutsideRoot},
		"/abs":             {FindingNameOutsideRoot},
		"a/up":             {FindingSymlinkOutsideRoot},
		"a/abs":            {FindingSymlinkOutsideRoot},
		"h1":               {FindingHardlinkOutsideRoot},
		"lnk/passwd":       {FindingThroughSymlink},
		"h2":               {FindingHardlinkToSymlink},
		".wh..":            {FindingInvalidWhiteout},
		".wh..wh..opq":     {FindingOpaqueRoot},
		"dev/mem":          {FindingDevice, FindingWorldWritable},
		"bin/su":           {FindingSetuid},
		"bin/wall":         {FindingSetgid},
		"pub":              {FindingWorldWritable},
		"./":               {FindingRootReplacement},
		"badmode":          {FindingInvalidEntry},
		"x":                {FindingXattr, FindingXattr},
	}
	got := map[string][]string{}
	for _, f := range rep.Findings {
		got[f.Entry] = append(got[f.Entry], f.Kind)
		if f.Detail == "" {
			t.Errorf("finding %+v has no detail", f)
		}
	}
	for entry, kinds := range want {
		g := slices.Clone(got[entry])
		slices.Sort(g)
		slices.Sort(kinds)
		if !slices.Equal(g, kinds) {
			t.Errorf("%s: findings %v, want %v", entry, got[entry], kinds)
		}
	}
	for entry := range got {
		if _, ok := want[entry]; !ok {
			t.Errorf("%s: unexpected findings %v", entry, got[entry])
		}
	}
	if f := rep.Findings[0]; f.Offset != 0 {
		t.Errorf("first finding at offset %d, want 0", f.Offset)
	}

	// Huge sizes and truncation: the finding comes, then the error.
	rep, err = Audit(t.Context(), bytes.NewReader(big), Options{})
	if !errors.Is(err, ErrInvalidArchive) || len(rep.Findings) != 1 || rep.Findings[0].Kind != FindingHugeSize {
		t.Errorf("huge: %+v, %v", rep, err)
	}
	sp, err := Audit(t.Context(), bytes.NewReader(paxSparse(t, "s", 1<<40, []fragment{{0, "x"}})), Options{})
	if err != nil || len(sp.Findings) != 1 || sp.Findings[0].Kind != FindingSparse {
		t.Errorf("sparse: %+v, %v", sp, err)
	}

	clean, err := Audit(t.Context(), bytes.NewReader(sampleLayer(t)), Options{})
	if err != nil || len(clean.Findings) != 0 || clean.Entries != 5 {
		t.Errorf("clean layer: %+v, %v", clean, err)
	}
}
