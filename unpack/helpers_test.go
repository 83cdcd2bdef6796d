package unpack

import (
	"encoding/json"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"
	v1 "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/safeunpack/safeunpack/internal/imagegen"
	"github.com/safeunpack/safeunpack/internal/testutil"
)

// demoLayout is the committed demo image.
const demoLayout = "../testdata/images/demo"

// multiarchLayout is the committed multi-platform image.
const multiarchLayout = "../testdata/images/multiarch"

// copyLayout copies a layout directory into a fresh temp dir.
func copyLayout(t *testing.T, src string) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "layout")
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		out := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(out, 0o755)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(out, data, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

// smallImage writes a three-layer image that an ordinary user can unpack
// (no devices, no foreign owners) and returns the layout path. mutate, when
// set, may change the image before it is written.
func smallImage(t *testing.T, mutate func(*imagegen.Image)) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "layout")
	l, err := imagegen.Create(dir)
	if err != nil {
		t.Fatal(err)
	}
	img := imagegen.Image{
		Layers: []imagegen.Layer{
			{Compression: imagegen.Gzip, Entries: []imagegen.Entry{
				imagegen.Dir("etc", 0o755, 0, 0),
				imagegen.File("etc/passwd", 0o644, 0, 0, "root:x:0:0:root:/root:/bin/sh\n"),
				imagegen.Dir("data", 0o755, 0, 0),
				imagegen.File("data/a.txt", 0o644, 0, 0, "a from layer 1\n"),
				imagegen.File("data/gone.txt", 0o644, 0, 0, "whited out\n"),
			}},
			{Compression: imagegen.Zstd, Entries: []imagegen.Entry{
				imagegen.Dir("data", 0o755, 0, 0),
				imagegen.Whiteout("data", "gone.txt"),
				imagegen.File("data/b.txt", 0o644, 0, 0, strings.Repeat("b", 3000)),
			}},
			{Compression: imagegen.None, Entries: []imagegen.Entry{
				imagegen.Dir("data", 0o755, 0, 0),
				imagegen.File("data/c.txt", 0o644, 0, 0, strings.Repeat("c", 5000)),
				imagegen.Symlink("data/link", "/data/a.txt"),
			}},
		},
		Config:   v1.ImageConfig{Cmd: []string{"/bin/true"}},
		Platform: v1.Platform{OS: "linux", Architecture: "amd64"},
	}
	if mutate != nil {
		mutate(&img)
	}
	md, err := l.Image(img)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.WriteIndex(imagegen.Tagged(md, "latest")); err != nil {
		t.Fatal(err)
	}
	return dir
}

// quietLogger drops log lines; tests check warnings through return values.
var quietLogger = slog.New(slog.DiscardHandler)

// baseOptions are options an ordinary user can unpack smallImage with.
func baseOptions() Options {
	return Options{Platform: "linux/amd64", Rootless: !testutil.IsRoot(), Logger: quietLogger}
}

func readJSONFile(t *testing.T, p string, v any) {
	t.Helper()
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		t.Fatalf("%s: %v", p, err)
	}
}

func writeJSONFile(t *testing.T, p string, v any) {
	t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// blobFile is the path of a blob in a layout.
func blobFile(layout string, d digest.Digest) string {
	return filepath.Join(layout, "blobs", d.Algorithm().String(), d.Encoded())
}

// firstManifest reads index.json's first manifest.
func firstManifest(t *testing.T, layout string) (v1.Index, v1.Manifest) {
	t.Helper()
	var idx v1.Index
	readJSONFile(t, filepath.Join(layout, "index.json"), &idx)
	var m v1.Manifest
	readJSONFile(t, blobFile(layout, idx.Manifests[0].Digest), &m)
	return idx, m
}

// rewriteManifest changes index.json's first manifest with fn, stores it
// as a new blob and points index.json at it, keeping digests consistent.
func rewriteManifest(t *testing.T, layout string, fn func(*v1.Manifest)) {
	t.Helper()
	idx, m := firstManifest(t, layout)
	fn(&m)
	data, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	d := digest.FromBytes(data)
	if err := os.WriteFile(blobFile(layout, d), data, 0o644); err != nil {
		t.Fatal(err)
	}
	idx.Manifests[0].Digest, idx.Manifests[0].Size = d, int64(len(data))
	writeJSONFile(t, filepath.Join(layout, "index.json"), idx)
}

// flipByte inverts one byte of a file at offset off (negative: from the end).
func flipByte(t *testing.T, p string, off int64) {
	t.Helper()
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if off < 0 {
		off += int64(len(data))
	}
	data[off] ^= 0xff
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// assertNoLeftovers fails if dir holds anything (bundle or staging).
func assertNoLeftovers(t *testing.T, dir string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		t.Errorf("left behind in %s: %s", dir, e.Name())
	}
}

func removeFile(p string) error { return os.Remove(p) }
