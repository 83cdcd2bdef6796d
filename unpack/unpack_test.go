package unpack

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
	v1 "github.com/opencontainers/image-spec/specs-go/v1"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/safeunpack/safeunpack/internal/imagegen"
	"github.com/safeunpack/safeunpack/internal/testutil"
)

// TestUnpackSmall unpacks an image an ordinary user can unpack and checks
// the bundle: files, whiteouts, config.json, safeunpack.json, mode 0700.
func TestUnpackSmall(t *testing.T) {
	layout := smallImage(t, nil)
	bundle := filepath.Join(t.TempDir(), "bundle")
	var reports []Progress
	opts := baseOptions()
	opts.Progress = func(p Progress) { reports = append(reports, p) }
	rec, err := Unpack(t.Context(), Reference{Layout: layout}, bundle, opts)
	if err != nil {
		t.Fatalf("Unpack: %v", err)
	}
	st, err := os.Stat(bundle)
	if err != nil || st.Mode().Perm() != 0o700 {
		t.Fatalf("bundle: %v, mode %v; want mode 0700", err, st.Mode())
	}
	for name, want := range map[string]string{
		"rootfs/data/a.txt": "a from layer 1\n",
		"rootfs/data/c.txt": strings.Repeat("c", 5000),
	} {
		if got, err := os.ReadFile(filepath.Join(bundle, name)); err != nil || string(got) != want {
			t.Errorf("%s: %q, %v", name, got, err)
		}
	}
	if _, err := os.Lstat(filepath.Join(bundle, "rootfs/data/gone.txt")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("whited-out file: %v, want it absent", err)
	}
	var spec specs.Spec
	readJSONFile(t, filepath.Join(bundle, "config.json"), &spec)
	if !slices.Equal(spec.Process.Args, []string{"/bin/true"}) || spec.Root.Path != "rootfs" {
		t.Errorf("config.json: args %q root %+v", spec.Process.Args, spec.Root)
	}
	var onDisk Record
	readJSONFile(t, filepath.Join(bundle, RecordFile), &onDisk)
	idx, m := firstManifest(t, layout)
	if onDisk.ManifestDigest != idx.Manifests[0].Digest || onDisk.ImageDigest != idx.Manifests[0].Digest ||
		onDisk.ConfigDigest != m.Config.Digest || onDisk.Tag != "latest" || onDisk.Platform != "linux/amd64" ||
		len(onDisk.Layers) != 3 || onDisk.Tool != "safeunpack" || onDisk.Version == "" {
		t.Errorf("safeunpack.json = %+v", onDisk)
	}
	for i, l := range onDisk.Layers {
		if l.Digest != m.Layers[i].Digest || l.DiffID == "" || l.Size != m.Layers[i].Size {
			t.Errorf("layer %d record %+v, manifest %+v", i, l, m.Layers[i])
		}
	}
	if rec.ManifestDigest != onDisk.ManifestDigest {
		t.Errorf("returned record %+v differs from safeunpack.json", rec)
	}
	assertNoStaging(t, filepath.Dir(bundle))
	if len(reports) == 0 || reports[len(reports)-1].Layer != 3 || reports[len(reports)-1].Bytes != reports[len(reports)-1].TotalBytes {
		t.Errorf("progress reports %+v: want the last at layer 3 with all bytes", reports)
	}
}

func assertNoStaging(t *testing.T, dir string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if strings.Contains(e.Name(), stagingInfix) {
			t.Errorf("staging directory left behind: %s", e.Name())
		}
	}
}

// TestUnpackBadInput: every malformed image fails with its sentinel and a
// message naming what is at fault, leaves no bundle and no staging
// directory, and touches nothing outside (canary).
func TestUnpackBadInput(t *testing.T) {
	tests := []struct {
		name string
		// setup returns the layout to unpack.
		setup func(t *testing.T) string
		ref   func(layout string) Reference
		err   error
		msg   string // substring of the error; "@layer" is replaced by the first layer's digest
	}{
		{
			name: "truncated layer blob",
			setup: func(t *testing.T) string {
				dir := smallImage(t, nil)
				_, m := firstManifest(t, dir)
				p := blobFile(dir, m.Layers[0].Digest)
				if err := os.Truncate(p, m.Layers[0].Size/2); err != nil {
					t.Fatal(err)
				}
				return dir
			},
			err: ErrSizeMismatch, msg: "@layer0",
		},
		{
			name: "flipped byte in a plain layer",
			setup: func(t *testing.T) string {
				dir := smallImage(t, nil)
				_, m := firstManifest(t, dir)
				flipByte(t, blobFile(dir, m.Layers[2].Digest), 600) // inside c.txt's data
				return dir
			},
			err: ErrDigestMismatch, msg: "@layer2",
		},
		{
			// The header checksum breaks, so the tar reader fails before
			// the end: the digest must still be what is reported.
			name: "flipped byte in a plain layer's tar header",
			setup: func(t *testing.T) string {
				dir := smallImage(t, nil)
				_, m := firstManifest(t, dir)
				flipByte(t, blobFile(dir, m.Layers[2].Digest), 100)
				return dir
			},
			err: ErrDigestMismatch, msg: "@layer2",
		},
		{
			name: "flipped byte in a gzip layer",
			setup: func(t *testing.T) string {
				dir := smallImage(t, nil)
				_, m := firstManifest(t, dir)
				flipByte(t, blobFile(dir, m.Layers[0].Digest), 30)
				return dir
			},
			err: ErrDigestMismatch, msg: "@layer0",
		},
		{
			name: "flipped byte in the config",
			setup: func(t *testing.T) string {
				dir := smallImage(t, nil)
				_, m := firstManifest(t, dir)
				flipByte(t, blobFile(dir, m.Config.Digest), -3)
				return dir
			},
			err: ErrDigestMismatch, msg: "config",
		},
		{
			name: "diff_id mismatch with a consistent config",
			setup: func(t *testing.T) string {
				return smallImage(t, func(img *imagegen.Image) {
					img.DiffIDs = []digest.Digest{digest.FromString("a"), digest.FromString("b"), digest.FromString("c")}
				})
			},
			err: ErrDiffIDMismatch, msg: "@layer0",
		},
		{
			name: "fewer diff_ids than layers",
			setup: func(t *testing.T) string {
				return smallImage(t, func(img *imagegen.Image) { img.DiffIDs = []digest.Digest{digest.FromString("a")} })
			},
			err: ErrInvalidLayout, msg: "1 rootfs.diff_ids but the manifest has 3 layers",
		},
		{
			name: "missing layer blob",
			setup: func(t *testing.T) string {
				dir := smallImage(t, nil)
				_, m := firstManifest(t, dir)
				if err := os.Remove(blobFile(dir, m.Layers[1].Digest)); err != nil {
					t.Fatal(err)
				}
				return dir
			},
			err: ErrNotFound, msg: "missing",
		},
		{
			name: "missing manifest blob",
			setup: func(t *testing.T) string {
				dir := smallImage(t, nil)
				idx, _ := firstManifest(t, dir)
				if err := os.Remove(blobFile(dir, idx.Manifests[0].Digest)); err != nil {
					t.Fatal(err)
				}
				return dir
			},
			err: ErrNotFound, msg: "manifest blob",
		},
		{
			name:  "garbage index.json",
			setup: writeIndexJSON([]byte("\x00\x01garbage{{{")),
			err:   ErrInvalidLayout, msg: "index.json",
		},
		{
			name: "truncated index.json",
			setup: func(t *testing.T) string {
				dir := smallImage(t, nil)
				data, err := os.ReadFile(filepath.Join(dir, "index.json"))
				if err != nil {
					t.Fatal(err)
				}
				return writeIndexJSON(data[:len(data)/2])(t)
			},
			err: ErrInvalidLayout, msg: "index.json",
		},
		{
			name:  "empty index.json",
			setup: writeIndexJSON(nil),
			err:   ErrInvalidLayout, msg: "index.json",
		},
		{
			name: "100 MiB index.json",
			setup: func(t *testing.T) string {
				dir := smallImage(t, nil)
				f, err := os.OpenFile(filepath.Join(dir, "index.json"), os.O_WRONLY|os.O_APPEND, 0)
				if err != nil {
					t.Fatal(err)
				}
				defer f.Close()
				// Sparse: costs no disk, and must not be read.
				if err := f.Truncate(100 << 20); err != nil {
					t.Fatal(err)
				}
				return dir
			},
			err: ErrBlobTooLarge, msg: "index.json",
		},
		{
			name: "index.json descriptor size -1",
			setup: func(t *testing.T) string {
				dir := smallImage(t, nil)
				idx, _ := firstManifest(t, dir)
				idx.Manifests[0].Size = -1
				writeJSONFile(t, filepath.Join(dir, "index.json"), idx)
				return dir
			},
			err: ErrInvalidLayout, msg: "negative",
		},
		{
			name: "index.json descriptor far larger than the file",
			setup: func(t *testing.T) string {
				dir := smallImage(t, nil)
				idx, _ := firstManifest(t, dir)
				idx.Manifests[0].Size = 1 << 40
				writeJSONFile(t, filepath.Join(dir, "index.json"), idx)
				return dir
			},
			err: ErrBlobTooLarge, msg: "manifest",
		},
		{
			name: "layer descriptor size -1",
			setup: func(t *testing.T) string {
				dir := smallImage(t, nil)
				rewriteManifest(t, dir, func(m *v1.Manifest) { m.Layers[0].Size = -1 })
				return dir
			},
			err: ErrInvalidLayout, msg: "negative",
		},
		{
			name: "layer descriptor far larger than the file",
			setup: func(t *testing.T) string {
				dir := smallImage(t, nil)
				rewriteManifest(t, dir, func(m *v1.Manifest) { m.Layers[0].Size = 1 << 50 })
				return dir
			},
			err: ErrSizeMismatch, msg: "@layer0",
		},
		{
			name:  "unknown tag",
			setup: func(t *testing.T) string { return smallImage(t, nil) },
			ref:   func(l string) Reference { return Reference{Layout: l, Tag: "v9"} },
			err:   ErrNotFound, msg: `tag "v9" is not in`,
		},
		{
			name: "no oci-layout file",
			setup: func(t *testing.T) string {
				dir := smallImage(t, nil)
				if err := os.Remove(filepath.Join(dir, "oci-layout")); err != nil {
					t.Fatal(err)
				}
				return dir
			},
			err: ErrInvalidLayout, msg: "oci-layout",
		},
		{
			name:  "no layout at all",
			setup: func(t *testing.T) string { return filepath.Join(t.TempDir(), "nothing") },
			err:   ErrNotFound, msg: "nothing",
		},
		{
			name: "unsupported layer media type",
			setup: func(t *testing.T) string {
				dir := smallImage(t, nil)
				rewriteManifest(t, dir, func(m *v1.Manifest) { m.Layers[1].MediaType = "application/vnd.example.tar+bzip2" })
				return dir
			},
			err: ErrUnsupportedMediaType, msg: "bzip2",
		},
		{
			name: "embedded media type contradicts the descriptor",
			setup: func(t *testing.T) string {
				dir := smallImage(t, nil)
				rewriteManifest(t, dir, func(m *v1.Manifest) { m.MediaType = v1.MediaTypeImageIndex })
				return dir
			},
			err: ErrInvalidLayout, msg: "embedded mediaType",
		},
		{
			name: "non-distributable layer without its blob",
			setup: func(t *testing.T) string {
				dir := smallImage(t, nil)
				_, m := firstManifest(t, dir)
				if err := os.Remove(blobFile(dir, m.Layers[0].Digest)); err != nil {
					t.Fatal(err)
				}
				rewriteManifest(t, dir, func(m *v1.Manifest) {
					m.Layers[0].MediaType = MediaTypeDockerForeignGzip
					m.Layers[0].URLs = []string{"http://127.0.0.1:1/never-fetched"}
				})
				return dir
			},
			err: ErrNotFound, msg: "URLs are never fetched",
		},
		{
			name: "unknown user",
			setup: func(t *testing.T) string {
				return smallImage(t, func(img *imagegen.Image) { img.Config.User = "ghost" })
			},
			err: ErrInvalidUser, msg: "ghost",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			layout := tc.setup(t)
			c := testutil.NewCanary(t)
			bundle := filepath.Join(c.Root, "bundle")
			ref := Reference{Layout: layout}
			if tc.ref != nil {
				ref = tc.ref(layout)
			}
			start := time.Now()
			_, err := Unpack(t.Context(), ref, bundle, baseOptions())
			if !errors.Is(err, tc.err) {
				t.Fatalf("Unpack: got err %v, want %v", err, tc.err)
			}
			msg := tc.msg
			if strings.HasPrefix(msg, "@layer") {
				_, m := firstManifest(t, layout)
				msg = m.Layers[msg[len(msg)-1]-'0'].Digest.String()
			}
			if !strings.Contains(err.Error(), msg) {
				t.Errorf("error %q does not name %q", err, msg)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error %q spans several lines", err)
			}
			if d := time.Since(start); d > 10*time.Second {
				t.Errorf("took %v", d)
			}
			assertNoLeftovers(t, c.Root)
			c.Check(t)
		})
	}
}

// writeIndexJSON returns a setup that replaces index.json of a small image.
func writeIndexJSON(data []byte) func(t *testing.T) string {
	return func(t *testing.T) string {
		dir := smallImage(t, nil)
		if err := os.WriteFile(filepath.Join(dir, "index.json"), data, 0o644); err != nil {
			t.Fatal(err)
		}
		return dir
	}
}

// TestUnpackCancel cancels the context while the first layer is applied:
// the error is the cancellation and nothing is left.
func TestUnpackCancel(t *testing.T) {
	layout := smallImage(t, nil)
	parent := t.TempDir()
	ctx, cancel := context.WithCancel(t.Context())
	opts := baseOptions()
	opts.Progress = func(Progress) { cancel() }
	_, err := Unpack(ctx, Reference{Layout: layout}, filepath.Join(parent, "bundle"), opts)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Unpack: got err %v, want context.Canceled", err)
	}
	assertNoLeftovers(t, parent)
}

func TestUnpackBundleExists(t *testing.T) {
	layout := smallImage(t, nil)
	parent := t.TempDir()
	bundle := filepath.Join(parent, "bundle")
	if err := os.Mkdir(bundle, 0o755); err != nil {
		t.Fatal(err)
	}
	keep := filepath.Join(bundle, "keep")
	if err := os.WriteFile(keep, []byte("mine"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Unpack(t.Context(), Reference{Layout: layout}, bundle, baseOptions()); !errors.Is(err, ErrBundleExists) {
		t.Fatalf("Unpack into a non-empty bundle: got err %v, want ErrBundleExists", err)
	}
	if data, err := os.ReadFile(keep); err != nil || string(data) != "mine" {
		t.Errorf("existing bundle content changed: %q, %v", data, err)
	}
	// A file, or a symlink to an empty directory, is not a bundle directory.
	link := filepath.Join(parent, "link")
	if err := os.Symlink(t.TempDir(), link); err != nil {
		t.Fatal(err)
	}
	if _, err := Unpack(t.Context(), Reference{Layout: layout}, link, baseOptions()); !errors.Is(err, ErrBundleExists) {
		t.Errorf("Unpack into a symlink: got err %v, want ErrBundleExists", err)
	}
	// An empty directory is replaced.
	empty := filepath.Join(parent, "empty")
	if err := os.Mkdir(empty, 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := Unpack(t.Context(), Reference{Layout: layout}, empty, baseOptions()); err != nil {
		t.Fatalf("Unpack into an empty directory: %v", err)
	}
	if _, err := os.Stat(filepath.Join(empty, "config.json")); err != nil {
		t.Error(err)
	}
	assertNoStaging(t, parent)
}

// Options and references are checked before any I/O.
func TestUnpackValidatesFirst(t *testing.T) {
	parent := t.TempDir()
	bundle := filepath.Join(parent, "b")
	for _, tc := range []struct {
		ref  Reference
		opts Options
	}{
		{Reference{Layout: "/nonexistent"}, Options{Platform: "bogus"}},
		{Reference{Layout: ""}, Options{}},
		{Reference{Layout: "/nonexistent", Tag: "a", Digest: digest.FromString("x")}, Options{}},
	} {
		if _, err := Unpack(t.Context(), tc.ref, bundle, tc.opts); !errors.Is(err, ErrInvalidOptions) {
			t.Errorf("Unpack(%+v, %+v): got err %v, want ErrInvalidOptions", tc.ref, tc.opts, err)
		}
	}
	if _, err := Unpack(t.Context(), Reference{Layout: smallImage(t, nil)}, filepath.Join(parent, "missing", "b"), baseOptions()); !errors.Is(err, ErrInvalidOptions) {
		t.Errorf("Unpack into a missing parent: got err %v, want ErrInvalidOptions", err)
	}
	assertNoLeftovers(t, parent)
}
