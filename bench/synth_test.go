//go:build linux

package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"math/rand/v2"
	"path"
	"testing"
)

// TestSynthTree checks the synthetic tree's shape: the planned entry
// counts, unique names per directory, bounded depth, and symlinks that
// resolve (lexically, from their directory) to the node they target.
func TestSynthTree(t *testing.T) {
	root := synthTree(rand.New(rand.NewPCG(7, 50_000)))
	counts := map[byte]int{}
	var walk func(n *synthNode)
	walk = func(n *synthNode) {
		seen := map[string]bool{}
		for _, c := range n.children {
			counts[c.typ]++
			if seen[c.name] {
				t.Errorf("duplicate name %q in %q", c.name, n.path)
			}
			seen[c.name] = true
			if c.depth > synthMaxDepth+1 {
				t.Errorf("%q: depth %d beyond %d", c.path, c.depth, synthMaxDepth+1)
			}
			if c.typ == tar.TypeSymlink && c.target != nil {
				dir := path.Dir(c.path)
				link := symlinkTarget(rand.New(rand.NewPCG(1, 1)), dir, c.target)
				if got := path.Join(dir, link); got != c.target.path {
					t.Errorf("symlink %q -> %q resolves to %q, want %q", c.path, link, got, c.target.path)
				}
			}
			walk(c)
		}
	}
	walk(root)
	want := map[byte]int{tar.TypeDir: synthDirs, tar.TypeReg: synthFiles, tar.TypeSymlink: synthSymlinks, tar.TypeLink: synthHardlinks}
	for typ, n := range want {
		if counts[typ] != n {
			t.Errorf("type %q: %d entries, want %d", typ, counts[typ], n)
		}
	}
}

// TestContentCompressibility checks that the three content kinds land in
// their intended gzip ratio bands.
func TestContentCompressibility(t *testing.T) {
	g := newContentGen(rand.New(rand.NewPCG(1, 2)))
	for _, tc := range []struct {
		kind     contentKind
		min, max float64
	}{
		{contentText, 2, 4.5},
		{contentBinary, 1.3, 3},
		{contentRandom, 0.9, 1.05},
	} {
		var raw, z bytes.Buffer
		if err := g.write(&raw, tc.kind, 4<<20); err != nil {
			t.Fatal(err)
		}
		zw := gzip.NewWriter(&z)
		if _, err := zw.Write(raw.Bytes()); err != nil {
			t.Fatal(err)
		}
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
		if raw.Len() != 4<<20 {
			t.Errorf("kind %d: wrote %d bytes, want %d", tc.kind, raw.Len(), 4<<20)
		}
		ratio := float64(raw.Len()) / float64(z.Len())
		if ratio < tc.min || ratio > tc.max {
			t.Errorf("kind %d: gzip ratio %.2f, want %.1f..%.1f", tc.kind, ratio, tc.min, tc.max)
		}
	}
}
