package imagegen

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/opencontainers/go-digest"
	v1 "github.com/opencontainers/image-spec/specs-go/v1"
)

// The same image written twice is byte-identical, and its config's
// diff_ids are the digests of the uncompressed tars.
func TestImageDeterministic(t *testing.T) {
	img := Image{
		Layers: []Layer{
			{Entries: []Entry{Dir("d", 0o755, 0, 0), File("d/f", 0o644, 1, 2, "hello").WithXattr("user.k", "v")}, Compression: Gzip},
			{Entries: []Entry{Whiteout("d", "f"), Symlink("l", "/d"), Hardlink("h", "l")}, Compression: Zstd},
		},
		Platform: v1.Platform{OS: "linux", Architecture: "arm64"},
	}
	var trees [2]map[string][]byte
	var descs [2]v1.Descriptor
	for i := range 2 {
		dir := t.TempDir()
		l, err := Create(dir)
		if err != nil {
			t.Fatal(err)
		}
		if descs[i], err = l.Image(img); err != nil {
			t.Fatal(err)
		}
		trees[i] = readTree(t, dir)
	}
	if descs[0].Digest != descs[1].Digest || len(trees[0]) != len(trees[1]) {
		t.Fatalf("two writes differ: %s vs %s", descs[0].Digest, descs[1].Digest)
	}
	for name, data := range trees[0] {
		if !bytes.Equal(data, trees[1][name]) {
			t.Errorf("%s differs between two writes", name)
		}
	}
	raw, err := Tar(img.Layers[0].Entries)
	if err != nil {
		t.Fatal(err)
	}
	want := digest.FromBytes(raw).String()
	found := false
	for _, data := range trees[0] {
		found = found || bytes.Contains(data, []byte(want))
	}
	if !found {
		t.Errorf("no config lists diff_id %s", want)
	}
}

// Every committed blob is stored under its own digest.
func TestCommittedBlobsVerify(t *testing.T) {
	n := 0
	err := filepath.WalkDir("../../testdata/images", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || filepath.Base(filepath.Dir(p)) != "sha256" {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if got := digest.FromBytes(data).Encoded(); got != d.Name() {
			t.Errorf("%s hashes to %s", p, got)
		}
		n++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 10 {
		t.Errorf("only %d committed blobs found", n)
	}
}

func readTree(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		rel, _ := filepath.Rel(dir, p)
		out[rel] = data
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}
