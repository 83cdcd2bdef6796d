//go:build linux

package main

import (
	"archive/tar"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
	v1 "github.com/opencontainers/image-spec/specs-go/v1"
)

// smallLayer writes a five-entry layer with a hardlink into dir.
func smallLayer(t *testing.T, dir string) *sourceInfo {
	t.Helper()
	src := &sourceInfo{Name: "small", dir: dir}
	var err error
	src.Stats, src.DiffID, err = writeLayerTar(t.Context(), src.tarPath(), func(_ context.Context, lw *layerWriter) error {
		for _, e := range []struct {
			hdr  tar.Header
			body string
		}{
			{tar.Header{Typeflag: tar.TypeDir, Name: "etc/", Mode: 0o755}, ""},
			{tar.Header{Typeflag: tar.TypeReg, Name: "etc/hosts", Mode: 0o644, Size: 9}, "127.0.0.1"},
			{tar.Header{Typeflag: tar.TypeLink, Name: "etc/hosts.link", Linkname: "etc/hosts"}, ""},
			{tar.Header{Typeflag: tar.TypeSymlink, Name: "etc/h", Linkname: "hosts"}, ""},
			{tar.Header{Typeflag: tar.TypeReg, Name: "empty", Mode: 0o600}, ""},
		} {
			if err := lw.WriteHeader(&e.hdr); err != nil {
				return err
			}
			if _, err := lw.Write([]byte(e.body)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return src
}

func TestLayerStats(t *testing.T) {
	src := smallLayer(t, t.TempDir())
	want := layerStats{Entries: 5, Dirs: 1, Files: 2, Symlinks: 1, Hardlinks: 1, FileBytes: 18, TarBytes: fileSize(src.tarPath())}
	if src.Stats != want {
		t.Errorf("stats = %+v, want %+v", src.Stats, want)
	}
	if got := digestFile(t, src.tarPath()); got != src.DiffID {
		t.Errorf("DiffID %s, but the tar hashes to %s", src.DiffID, got)
	}
}

// TestLayout checks a written layout the way an unpacker reads it: the
// index names the manifest tagged latest, every blob hashes to its name
// and size, and the config's diff_ids hold the tar's digest.
func TestLayout(t *testing.T) {
	work := t.TempDir()
	src := smallLayer(t, work)
	for _, c := range []compression{compGzip, compZstd, compNone} {
		b, err := prepareBlob(t.Context(), src, c)
		if err != nil {
			t.Fatal(err)
		}
		dir, err := prepareLayout(&config{work: work}, src, b)
		if err != nil {
			t.Fatal(err)
		}
		var layout v1.ImageLayout
		readTestJSON(t, filepath.Join(dir, v1.ImageLayoutFile), &layout)
		if layout.Version != v1.ImageLayoutVersion {
			t.Errorf("%s: oci-layout version %q", c, layout.Version)
		}
		var index v1.Index
		readTestJSON(t, filepath.Join(dir, v1.ImageIndexFile), &index)
		if len(index.Manifests) != 1 || index.Manifests[0].Annotations[v1.AnnotationRefName] != layoutTag {
			t.Fatalf("%s: index manifests %+v, want one tagged %q", c, index.Manifests, layoutTag)
		}
		var m v1.Manifest
		readBlob(t, dir, index.Manifests[0], &m)
		var img v1.Image
		readBlob(t, dir, m.Config, &img)
		if len(img.RootFS.DiffIDs) != 1 || img.RootFS.DiffIDs[0] != src.DiffID {
			t.Errorf("%s: diff_ids %v, want [%s]", c, img.RootFS.DiffIDs, src.DiffID)
		}
		if len(m.Layers) != 1 || m.Layers[0].MediaType != c.mediaType() {
			t.Fatalf("%s: layers %+v", c, m.Layers)
		}
		checkBlob(t, dir, m.Layers[0])
		// A second call must reuse the cache, not rewrite the layout.
		before := fileModTime(t, filepath.Join(dir, v1.ImageIndexFile))
		if _, err := prepareLayout(&config{work: work}, src, b); err != nil {
			t.Fatal(err)
		}
		if after := fileModTime(t, filepath.Join(dir, v1.ImageIndexFile)); !after.Equal(before) {
			t.Errorf("%s: cached layout was rewritten", c)
		}
	}
}

func TestVerifyTree(t *testing.T) {
	root := t.TempDir()
	mustWrite := func(name, body string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(root, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(root, "etc"), 0o755); err != nil {
		t.Fatal(err)
	}
	mustWrite("etc/hosts", "127.0.0.1")
	if err := os.Link(filepath.Join(root, "etc/hosts"), filepath.Join(root, "etc/hosts.link")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("hosts", filepath.Join(root, "etc/h")); err != nil {
		t.Fatal(err)
	}
	mustWrite("empty", "")
	want := &layerStats{Entries: 5, FileBytes: 18}
	if err := verifyTree(root, want); err != nil {
		t.Errorf("complete tree: %v", err)
	}
	if err := os.Remove(filepath.Join(root, "empty")); err != nil {
		t.Fatal(err)
	}
	err := verifyTree(root, want)
	if err == nil || !strings.Contains(err.Error(), "4 entries") {
		t.Errorf("tree missing a file: err = %v, want a count mismatch", err)
	}
}

func readTestJSON(t *testing.T, path string, v any) {
	t.Helper()
	if err := readJSON(path, v); err != nil {
		t.Fatal(err)
	}
}

func readBlob(t *testing.T, dir string, d v1.Descriptor, v any) {
	t.Helper()
	b := checkBlob(t, dir, d)
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatal(err)
	}
}

// checkBlob asserts that d's blob exists with d's size and digest.
func checkBlob(t *testing.T, dir string, d v1.Descriptor) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "blobs", "sha256", d.Digest.Encoded()))
	if err != nil {
		t.Fatal(err)
	}
	if int64(len(b)) != d.Size || digest.FromBytes(b) != d.Digest {
		t.Errorf("blob %s: %d bytes hashing to %s, descriptor says %d bytes", d.Digest, len(b), digest.FromBytes(b), d.Size)
	}
	return b
}

func digestFile(t *testing.T, path string) digest.Digest {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	d, err := digest.FromReader(f)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func fileModTime(t *testing.T, path string) time.Time {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.ModTime()
}
