package unpack

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"
	v1 "github.com/opencontainers/image-spec/specs-go/v1"
	"golang.org/x/sys/unix"

	"github.com/safeunpack/safeunpack/internal/testutil"
)

// refNode is one inode of the reference tree.
type refNode struct {
	typ        byte // tar typeflag (TypeReg for hard links' targets)
	perm       int64
	uid, gid   int
	size       int64
	sum        [32]byte
	link       string
	xattrs     map[string]string
	mtime      time.Time
	devmaj     int64
	devmin     int64
	hardlinked bool
}

// referenceTree applies the demo image's layers to an in-memory map with
// the OCI whiteout rules (image-spec layer.md), reading the tar entries
// directly: an oracle independent of the layer package.
func referenceTree(t *testing.T, layout string) map[string]*refNode {
	t.Helper()
	_, m := firstManifest(t, layout)
	tree := map[string]*refNode{}
	for _, ld := range m.Layers {
		entries := readLayerEntries(t, blobFile(layout, ld.Digest), ld.MediaType)
		// Whiteouts first: they apply to lower layers only.
		for _, e := range entries {
			dir, base := path.Split(e.name)
			dir = strings.TrimSuffix(dir, "/")
			switch {
			case base == ".wh..wh..opq":
				deleteTree(tree, dir, false)
			case strings.HasPrefix(base, ".wh."):
				deleteTree(tree, path.Join(dir, strings.TrimPrefix(base, ".wh.")), true)
			}
		}
		for _, e := range entries {
			if strings.HasPrefix(path.Base(e.name), ".wh.") {
				continue
			}
			old := tree[e.name]
			switch {
			case e.node.typ == tar.TypeLink:
				target := tree[e.node.link]
				if target == nil {
					t.Fatalf("reference: hard link %s to missing %s", e.name, e.node.link)
				}
				if old != nil && old.typ == tar.TypeDir {
					deleteTree(tree, e.name, true)
				}
				target.hardlinked = true
				tree[e.name] = target
			case e.node.typ == tar.TypeDir && old != nil && old.typ == tar.TypeDir:
				*old = *e.node // attributes replaced, children kept
			default:
				if old != nil {
					deleteTree(tree, e.name, true)
				}
				tree[e.name] = e.node
			}
		}
	}
	return tree
}

func deleteTree(tree map[string]*refNode, p string, self bool) {
	for k := range tree {
		if (self && k == p) || strings.HasPrefix(k, p+"/") {
			delete(tree, k)
		}
	}
}

type refEntry struct {
	name string
	node *refNode
}

func readLayerEntries(t *testing.T, blob, mediaType string) []refEntry {
	t.Helper()
	data, err := os.ReadFile(blob)
	if err != nil {
		t.Fatal(err)
	}
	var r io.Reader = bytes.NewReader(data)
	switch mediaType {
	case v1.MediaTypeImageLayerGzip:
		if r, err = gzip.NewReader(r); err != nil {
			t.Fatal(err)
		}
	case v1.MediaTypeImageLayerZstd:
		zr, err := zstd.NewReader(r)
		if err != nil {
			t.Fatal(err)
		}
		defer zr.Close()
		r = zr
	}
	tr := tar.NewReader(r)
	var out []refEntry
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		n := &refNode{typ: h.Typeflag, perm: h.Mode & 0o7777, uid: h.Uid, gid: h.Gid, link: h.Linkname,
			mtime: h.ModTime, devmaj: h.Devmajor, devmin: h.Devminor, xattrs: map[string]string{}}
		for k, v := range h.PAXRecords {
			if name, ok := strings.CutPrefix(k, "SCHILY.xattr."); ok {
				n.xattrs[name] = v
			}
		}
		if h.Typeflag == tar.TypeReg {
			body, err := io.ReadAll(tr)
			if err != nil {
				t.Fatal(err)
			}
			n.size, n.sum = int64(len(body)), sha256.Sum256(body)
		}
		if h.Typeflag == tar.TypeLink {
			n.link = path.Clean(h.Linkname)
		}
		out = append(out, refEntry{name: path.Clean(strings.TrimPrefix(h.Name, "./")), node: n})
	}
}

// TestDifferentialDemo unpacks the demo image and compares every entry of
// the rootfs with the reference computed from the tar entries: type,
// permissions (setuid included), owner, size, content hash, link target,
// device numbers, xattrs, hard-link groups and mtimes.
func TestDifferentialDemo(t *testing.T) {
	testutil.RequireRoot(t) // owners other than the caller, a device node
	want := referenceTree(t, demoLayout)
	bundle := filepath.Join(t.TempDir(), "bundle")
	if _, err := Unpack(t.Context(), Reference{Layout: demoLayout}, bundle, Options{Platform: "linux/amd64", Logger: quietLogger}); err != nil {
		t.Fatalf("Unpack: %v", err)
	}
	rootfs := filepath.Join(bundle, "rootfs")
	got := testutil.StatTree(t, rootfs)
	if g, w := slices.Sorted(maps.Keys(got)), slices.Sorted(maps.Keys(want)); !slices.Equal(g, w) {
		t.Fatalf("rootfs entries differ:\n got  %q\n want %q", g, w)
	}
	typeBits := map[byte]uint32{tar.TypeReg: unix.S_IFREG, tar.TypeDir: unix.S_IFDIR, tar.TypeSymlink: unix.S_IFLNK,
		tar.TypeChar: unix.S_IFCHR, tar.TypeBlock: unix.S_IFBLK, tar.TypeFifo: unix.S_IFIFO}
	for name, w := range want {
		st := got[name]
		p := filepath.Join(rootfs, name)
		check := func(what string, g, w any) {
			if fmt.Sprint(g) != fmt.Sprint(w) {
				t.Errorf("%s: %s = %v, want %v", name, what, g, w)
			}
		}
		check("type", st.Mode&unix.S_IFMT, typeBits[w.typ])
		if w.typ != tar.TypeSymlink {
			check("permissions", fmt.Sprintf("%#o", st.Mode&0o7777), fmt.Sprintf("%#o", w.perm))
		}
		check("owner", fmt.Sprintf("%d:%d", st.Uid, st.Gid), fmt.Sprintf("%d:%d", w.uid, w.gid))
		check("mtime", time.Unix(st.Mtim.Unix()).UTC(), w.mtime.UTC())
		switch w.typ {
		case tar.TypeReg:
			data, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			check("size", st.Size, w.size)
			check("sha256", fmt.Sprintf("%x", sha256.Sum256(data)), fmt.Sprintf("%x", w.sum))
		case tar.TypeSymlink:
			target, err := os.Readlink(p)
			if err != nil {
				t.Fatal(err)
			}
			check("link target", target, w.link)
		case tar.TypeChar, tar.TypeBlock:
			check("device", fmt.Sprintf("%d:%d", unix.Major(st.Rdev), unix.Minor(st.Rdev)), fmt.Sprintf("%d:%d", w.devmaj, w.devmin))
		}
		if w.typ != tar.TypeSymlink {
			check("xattrs", imageXattrs(t, p), w.xattrs)
		}
	}
	// Hard-link groups: paths sharing an inode on disk and in the reference.
	groups := func(key func(string) any) [][]string {
		by := map[any][]string{}
		for name := range want {
			if want[name].typ == tar.TypeReg {
				by[key(name)] = append(by[key(name)], name)
			}
		}
		var out [][]string
		for _, g := range by {
			sort.Strings(g)
			if len(g) > 1 {
				out = append(out, g)
			}
		}
		sort.Slice(out, func(i, j int) bool { return out[i][0] < out[j][0] })
		return out
	}
	gotGroups := groups(func(n string) any { return [2]uint64{got[n].Dev, got[n].Ino} })
	wantGroups := groups(func(n string) any { return want[n] })
	if fmt.Sprint(gotGroups) != fmt.Sprint(wantGroups) {
		t.Errorf("hard-link groups = %q, want %q", gotGroups, wantGroups)
	}
	if len(wantGroups) != 2 {
		t.Errorf("the demo image should have two hard-link groups, has %q", wantGroups)
	}
}

// imageXattrs lists the xattrs an image can set (user.*, trusted.*,
// security.capability), ignoring those the host adds (security.selinux).
func imageXattrs(t *testing.T, p string) map[string]string {
	t.Helper()
	out := map[string]string{}
	buf := make([]byte, 64<<10)
	n, err := unix.Llistxattr(p, buf)
	if err != nil {
		t.Fatalf("llistxattr %s: %v", p, err)
	}
	for _, name := range strings.Split(string(buf[:n]), "\x00") {
		if name == "" || !(strings.HasPrefix(name, "user.") || strings.HasPrefix(name, "trusted.") || name == "security.capability") {
			continue
		}
		v := make([]byte, 64<<10)
		vn, err := unix.Lgetxattr(p, name, v)
		if err != nil {
			t.Fatalf("lgetxattr %s %s: %v", p, name, err)
		}
		out[name] = string(v[:vn])
	}
	return out
}
