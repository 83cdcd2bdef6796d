package unpack

import (
	"archive/tar"
	"crypto/sha256"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/safeunpack/safeunpack/internal/testutil"
	"github.com/safeunpack/safeunpack/layer"
)

// checkRootlessDemo compares the demo image unpacked rootless at rootfs
// (toContainer maps owners on disk to container ids) with referenceTree, the tar entries read
// directly: TestDifferentialDemo's checks, with the rootless rules. Owners
// are the image's once the recorded owner is applied (symlinks and FIFOs
// cannot carry the record: they belong to the unpacking user, container
// root); devices are empty regular files with the device's mode, owner and
// mtime (wantNoRecords: every owner could be chowned to, in a user
// namespace of many ids); security.capability is left out (an unprivileged user cannot set
// it; root of a user namespace sets a namespaced one).
func checkRootlessDemo(t *testing.T, rootfs string, toContainer func(uint32) uint32, wantNoRecords bool) {
	t.Helper()
	want := referenceTree(t, demoLayout)
	got := testutil.StatTree(t, rootfs)
	if g, w := slices.Sorted(maps.Keys(got)), slices.Sorted(maps.Keys(want)); !slices.Equal(g, w) {
		t.Fatalf("rootless demo entries differ:\n got  %q\n want %q", g, w)
	}
	typeBits := map[byte]uint32{tar.TypeReg: unix.S_IFREG, tar.TypeDir: unix.S_IFDIR, tar.TypeSymlink: unix.S_IFLNK,
		tar.TypeChar: unix.S_IFREG, tar.TypeBlock: unix.S_IFREG, tar.TypeFifo: unix.S_IFIFO}
	placeholders, recorded := 0, 0
	for name, w := range want {
		st := got[name]
		p := filepath.Join(rootfs, name)
		check := func(what string, g, w any) {
			if fmt.Sprint(g) != fmt.Sprint(w) {
				t.Errorf("rootless demo %s: %s = %v, want %v", name, what, g, w)
			}
		}
		check("type", st.Mode&unix.S_IFMT, typeBits[w.typ])
		if w.typ != tar.TypeSymlink {
			check("permissions", fmt.Sprintf("%#o", st.Mode&0o7777), fmt.Sprintf("%#o", w.perm))
		}
		uid, gid, err := viewOwner(p, &st, true, toContainer)
		if err != nil {
			t.Errorf("rootless demo %s: %v", name, err)
		}
		wantOwner := fmt.Sprintf("%d:%d", w.uid, w.gid)
		if w.typ == tar.TypeSymlink || w.typ == tar.TypeFifo {
			wantOwner = "0:0"
		}
		check("owner", fmt.Sprintf("%d:%d", uid, gid), wantOwner)
		if _, found, _ := recordedOwner(p); found {
			recorded++
		}
		check("mtime", time.Unix(st.Mtim.Unix()).UTC(), w.mtime.UTC())
		switch w.typ {
		case tar.TypeReg:
			data, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			check("sha256", fmt.Sprintf("%x", sha256.Sum256(data)), fmt.Sprintf("%x", w.sum))
		case tar.TypeSymlink:
			target, err := os.Readlink(p)
			if err != nil {
				t.Fatal(err)
			}
			check("link target", target, w.link)
		case tar.TypeChar, tar.TypeBlock:
			placeholders++
			check("placeholder size", st.Size, 0)
		}
		if w.typ != tar.TypeSymlink {
			gx, wx := imageXattrs(t, p), maps.Clone(w.xattrs)
			delete(gx, layer.RootlessXattr)
			delete(gx, "security.capability")
			delete(wx, "security.capability")
			check("xattrs", gx, wx)
		}
	}
	if placeholders == 0 || (recorded == 0) != wantNoRecords {
		t.Errorf("rootless demo: %d device placeholders, %d recorded owners", placeholders, recorded)
	}
}
