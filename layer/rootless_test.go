package layer

import (
	"archive/tar"
	"bytes"
	"encoding/hex"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/safeunpack/safeunpack/internal/testutil"
	"github.com/safeunpack/safeunpack/pathrs"
)

// rootlessDirEnv passes the parent's directory to a re-executed child.
const rootlessDirEnv = "SAFEUNPACK_TEST_ROOTLESS_DIR"

// rootlessLayers are two layers with everything that is hard without
// privilege: owners 0, 1000, 65534 and mixed ones, /etc/gshadow 0000,
// /root 0700, a 0000 directory with children (and an entry that comes back
// into it out of order), a 0500 directory inside it, a 0555 directory, a
// setuid and a setgid file, devices, a FIFO and a symlink of uid 1000, a
// hard link, an xattr. The second layer writes into the lower layer's
// restrictive directories, whites out and makes opaque inside them,
// replaces the 0000 file, changes the owner and mode of existing
// directories, and last whites out the 0000 directory, which keeps what
// this layer put there (a prune through restrictive directories).
func rootlessLayers(t testing.TB) (layer1, layer2 []byte) {
	b := testutil.NewTarBuilder(t, 0, 0)
	h := func(typ byte, name string, mode int64, uid, gid int, body string) {
		hdr := &tar.Header{Typeflag: typ, Name: name, Mode: mode, Uid: uid, Gid: gid, Size: int64(len(body))}
		if typ != tar.TypeReg {
			hdr.Size = 0
		}
		b.Header(hdr, []byte(body))
	}
	h(tar.TypeDir, "./", 0o755, 0, 0, "")
	h(tar.TypeDir, "etc/", 0o755, 0, 0, "")
	h(tar.TypeReg, "etc/passwd", 0o644, 0, 0, "root:x:0:0::/root:/bin/sh\n")
	h(tar.TypeReg, "etc/gshadow", 0o000, 0, 42, "g1")
	h(tar.TypeDir, "root/", 0o700, 0, 0, "")
	h(tar.TypeReg, "root/.profile", 0o600, 0, 0, "p")
	h(tar.TypeDir, "home/", 0o755, 0, 0, "")
	h(tar.TypeDir, "home/u/", 0o750, 1000, 1000, "")
	b.Header(&tar.Header{Typeflag: tar.TypeReg, Name: "home/u/notes", Mode: 0o640, Uid: 1000, Gid: 1000, Size: 1,
		PAXRecords: map[string]string{"SCHILY.xattr.user.origin": "layer1"}}, []byte("n"))
	b.Header(&tar.Header{Typeflag: tar.TypeSymlink, Name: "home/u/link", Linkname: "notes", Mode: 0o777, Uid: 1000, Gid: 1000}, nil)
	b.Header(&tar.Header{Typeflag: tar.TypeLink, Name: "home/u/notes-link", Linkname: "home/u/notes", Mode: 0o640, Uid: 1000, Gid: 1000}, nil)
	h(tar.TypeReg, "nobody", 0o644, 65534, 65534, "nb")
	h(tar.TypeDir, "usr/", 0o755, 0, 0, "")
	h(tar.TypeDir, "usr/bin/", 0o755, 0, 0, "")
	h(tar.TypeReg, "usr/bin/su", 0o4755, 0, 0, "su")
	h(tar.TypeReg, "usr/bin/wall", 0o2755, 0, 5, "wall")
	h(tar.TypeReg, "usr/bin/mixed", 0o644, 0, 1000, "m")
	h(tar.TypeDir, "locked/", 0o000, 0, 0, "")
	h(tar.TypeReg, "locked/child", 0o644, 1000, 1000, "c")
	h(tar.TypeDir, "locked/sub/", 0o500, 0, 0, "")
	h(tar.TypeReg, "locked/sub/f", 0o444, 0, 0, "f")
	h(tar.TypeDir, "ro/", 0o555, 0, 0, "")
	h(tar.TypeReg, "ro/f", 0o444, 0, 0, "rf")
	h(tar.TypeDir, "opq/", 0o500, 0, 0, "")
	h(tar.TypeReg, "opq/old", 0o644, 0, 0, "o")
	h(tar.TypeDir, "dev/", 0o755, 0, 0, "")
	b.Header(&tar.Header{Typeflag: tar.TypeChar, Name: "dev/null", Mode: 0o666, Devmajor: 1, Devminor: 3}, nil)
	b.Header(&tar.Header{Typeflag: tar.TypeBlock, Name: "dev/sda", Mode: 0o660, Gid: 6, Devmajor: 8, Devminor: 0}, nil)
	h(tar.TypeDir, "run/", 0o755, 0, 0, "")
	h(tar.TypeFifo, "run/fifo", 0o600, 1000, 1000, "")
	h(tar.TypeReg, "locked/late", 0o644, 0, 0, "l") // back into the 0000 directory, out of order
	layer1 = bytes.Clone(b.Bytes())

	b = testutil.NewTarBuilder(t, 0, 0)
	h(tar.TypeDir, "ro/", 0o500, 0, 0, "") // now 0500, and written into
	h(tar.TypeReg, "ro/new", 0o644, 1000, 1000, "new")
	h(tar.TypeReg, "ro/.wh.f", 0o644, 0, 0, "")
	h(tar.TypeReg, "locked/child2", 0o600, 0, 0, "c2")
	h(tar.TypeReg, "locked/sub/g", 0o644, 0, 0, "g")
	h(tar.TypeReg, "locked/sub/.wh.f", 0o644, 0, 0, "")
	h(tar.TypeReg, "opq/.wh..wh..opq", 0o644, 0, 0, "")
	h(tar.TypeReg, "opq/new", 0o644, 0, 0, "on")
	h(tar.TypeReg, "etc/gshadow", 0o000, 0, 42, "g2")
	h(tar.TypeDir, "root/", 0o700, 1000, 1000, "")
	h(tar.TypeDir, "home/u/", 0o750, 0, 0, "")
	b.Hardlink("home/hl", "locked/child2")        // a link into the 0000 directory, closed again by now
	h(tar.TypeReg, ".wh.locked", 0o644, 0, 0, "") // prunes the 0000 directory: only this layer's entries stay
	return layer1, b.Bytes()
}

// rootlessWant is the tree after both layers, as a rootless consumer sees
// it (rootlessView). The symlink and the FIFO keep the unpacking user as
// owner: the kernel refuses user.* xattrs on them, as umoci found.
var rootlessWant = []string{
	"dir dev 0755 0:0",
	"file dev/null 0666 0:0",
	"file dev/sda 0660 0:6",
	"dir etc 0755 0:0",
	"file etc/gshadow 0000 0:42 g2",
	"file etc/passwd 0644 0:0 root:x:0:0::/root:/bin/sh\n",
	"dir home 0755 0:0",
	"file home/hl 0600 0:0 c2",
	"dir home/u 0750 0:0",
	"symlink home/u/link 0777 0:0 -> notes",
	"file home/u/notes 0640 1000:1000 n",
	"file home/u/notes-link 0640 1000:1000 n",
	"dir locked 0000 0:0",
	"file locked/child2 0600 0:0 c2",
	"dir locked/sub 0500 0:0",
	"file locked/sub/g 0644 0:0 g",
	"file nobody 0644 65534:65534 nb",
	"dir opq 0500 0:0",
	"file opq/new 0644 0:0 on",
	"dir ro 0500 0:0",
	"file ro/new 0644 1000:1000 new",
	"dir root 0700 1000:1000",
	"file root/.profile 0600 0:0 p",
	"dir run 0755 0:0",
	"fifo run/fifo 0600 0:0",
	"dir usr 0755 0:0",
	"dir usr/bin 0755 0:0",
	"file usr/bin/mixed 0644 0:1000 m",
	"file usr/bin/su 4755 0:0 su",
	"file usr/bin/wall 2755 0:5 wall",
}

// applyRootlessLayers applies both layers rootless into dir/<backend> and
// checks what only the applying process sees: no error, and the summary
// warnings of the first layer, one line each with its count.
func applyRootlessLayers(t *testing.T, dir string) {
	l1, l2 := rootlessLayers(t)
	for _, b := range backends {
		root := filepath.Join(dir, b.name)
		if err := os.Mkdir(root, 0o755); err != nil {
			t.Fatal(err)
		}
		opts := Options{Rootless: true, Logger: quietLogger()}
		res, err := applyTo(t, root, b.resolver, l1, opts)
		if err != nil {
			t.Fatalf("%s: layer 1: %v", b.name, err)
		}
		var devices, unrecorded int
		for _, w := range res.Warnings {
			if strings.HasPrefix(w, "2 device nodes created as empty regular files") && strings.Contains(w, `"dev/null" (character device 1:3)`) {
				devices++
			}
			if strings.HasPrefix(w, "2 symlinks and FIFOs keep the unpacking user as owner") {
				unrecorded++
			}
		}
		if devices != 1 || unrecorded != 1 || res.Counts.Devices != 2 {
			t.Errorf("%s: layer 1 warnings %q (devices %d): want one line for the 2 device placeholders and one for "+
				"the 2 unrecorded owners", b.name, res.Warnings, res.Counts.Devices)
		}
		if _, err := applyTo(t, root, b.resolver, l2, opts); err != nil {
			t.Fatalf("%s: layer 2: %v", b.name, err)
		}
	}
}

// checkRootlessTree checks both backends' trees, applied by the user
// hostUID:hostGID.
func checkRootlessTree(t *testing.T, dir string, hostUID, hostGID uint32) {
	t.Helper()
	for _, b := range backends {
		root := filepath.Join(dir, b.name)
		// Directories whose last change was an entry of theirs have the
		// entry's mtime, restored after their children.
		for _, p := range []string{"ro", "root", "home/u", "usr/bin", "dev", "run"} {
			fi, err := os.Lstat(filepath.Join(root, p))
			if err != nil {
				t.Fatal(err)
			}
			if !fi.ModTime().Equal(testutil.TarTime) {
				t.Errorf("%s: %s mtime %v, want %v", b.name, p, fi.ModTime(), testutil.TarTime)
			}
		}
		assertLines(t, b.name+" tree", rootlessView(t, root, hostUID, hostGID), slices.Clone(rootlessWant))
		if v, err := getxattr(t, filepath.Join(root, "home/u/notes"), "user.origin"); err != nil || v != "layer1" {
			t.Errorf("%s: user.origin = %q, %v", b.name, v, err)
		}
	}
}

// TestRootlessApply applies rootlessLayers without privilege: as nobody,
// as root of a user namespace that maps only nobody, as root with Rootless
// forced, or, when the suite itself runs unprivileged, as the caller. No
// layer fails half-way; every mode is the image's; every owner is the
// image's once the recorded owner is applied; devices are placeholders.
func TestRootlessApply(t *testing.T) {
	switch testutil.ReexecChild() {
	case testutil.AsNobody, testutil.InUserNSRoot:
		applyRootlessLayers(t, os.Getenv(rootlessDirEnv))
		return
	}
	if !testutil.IsRoot() {
		dir := t.TempDir()
		applyRootlessLayers(t, dir)
		checkRootlessTree(t, dir, uint32(os.Geteuid()), uint32(os.Getegid()))
		return
	}
	for _, mode := range []testutil.ReexecMode{testutil.AsNobody, testutil.InUserNSRoot} {
		t.Run(string(mode), func(t *testing.T) {
			dir := testutil.PrivateTempDir(t)
			testutil.Reexec(t, mode, rootlessDirEnv+"="+dir)
			checkRootlessTree(t, dir, testutil.NobodyID, testutil.NobodyID)
		})
	}
	t.Run("root-forced", func(t *testing.T) {
		dir := t.TempDir()
		applyRootlessLayers(t, dir)
		checkRootlessTree(t, dir, 0, 0)
	})
}

// TestRootlessUIDMapChown: with a map of the ids the process may use (what
// unpack passes in a user namespace), owners inside it are chowned and
// only the others recorded; a chown the kernel refuses is recorded too.
func TestRootlessUIDMapChown(t *testing.T) {
	testutil.RequireRoot(t)
	dir := t.TempDir()
	b := testutil.NewTarBuilder(t, 0, 0)
	b.Header(&tar.Header{Typeflag: tar.TypeReg, Name: "in", Mode: 0o644, Uid: 1000, Gid: 1000}, nil)
	b.Header(&tar.Header{Typeflag: tar.TypeReg, Name: "half", Mode: 0o644, Uid: 1000, Gid: 3000}, nil)
	b.Header(&tar.Header{Typeflag: tar.TypeReg, Name: "out", Mode: 0o644, Uid: 3000, Gid: 3000}, nil)
	m := []IDMap{{ContainerID: 0, HostID: 0, Size: 2000}}
	if _, err := applyTo(t, dir, pathrs.ResolverAuto, b.Bytes(), Options{Rootless: true, UIDMap: m, GIDMap: m}); err != nil {
		t.Fatal(err)
	}
	assertLines(t, "tree", rootlessView(t, dir, 0, 0), []string{
		"file half 0644 1000:3000", "file in 0644 1000:1000", "file out 0644 3000:3000"})
	for name, want := range map[string]string{"in": "", "half": "08ffffffff0f10b817", "out": "08b81710b817"} {
		got, _ := getxattr(t, filepath.Join(dir, name), RootlessXattr)
		if gotHex := hex.EncodeToString([]byte(got)); gotHex != want {
			t.Errorf("%s: record %s, want %q", name, gotHex, want)
		}
	}
}

// quietLogger drops the summary lines the tests check in Result.Warnings.
func quietLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

// TestRootlessRestrictedDepthLimit: directories of mode 0000 nested deeper
// than maxHeldGrants, each holding the next, need more directories open at
// once than the limit; the layer fails with the named limit instead of
// exhausting descriptors. The deepest nesting within the limit works.
func TestRootlessRestrictedDepthLimit(t *testing.T) {
	if testutil.IsRoot() && testutil.ReexecChild() == "" {
		testutil.Reexec(t, testutil.AsNobody)
		return
	}
	for _, tc := range []struct {
		depth int  // nested directories, the deepest empty
		fail  bool // whether the limit stops the layer
	}{{maxHeldGrants + 1, false}, {maxHeldGrants + 2, true}} {
		b := testutil.NewTarBuilder(t, 0, 0)
		name := ""
		for range tc.depth {
			name += "d/"
			b.Dir(name, 0)
		}
		dir := t.TempDir()
		t.Cleanup(func() { openUp(dir) })
		_, err := applyTo(t, dir, pathrs.ResolverAuto, b.Bytes(), Options{Rootless: true, Logger: quietLogger()})
		var le *LimitError
		if tc.fail != errors.As(err, &le) || (tc.fail && le.Limit != "RestrictedDirectories") {
			t.Errorf("depth %d: got %v, want failure %v with limit RestrictedDirectories", tc.depth, err, tc.fail)
		}
	}
}

// openUp gives the owner access to every directory under dir, so that the
// test's temporary directory can be removed.
func openUp(dir string) {
	for p := dir; ; p = filepath.Join(p, "d") {
		if os.Chmod(p, 0o700) != nil {
			return
		}
	}
}
