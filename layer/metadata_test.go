package layer

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/safeunpack/safeunpack/internal/testutil"
	"github.com/safeunpack/safeunpack/pathrs"
)

func xattrHeader(b *testutil.TarBuilder, typ byte, name string, mode int64, xattrs map[string]string) *testutil.TarBuilder {
	rec := map[string]string{}
	for k, v := range xattrs {
		rec["SCHILY.xattr."+k] = v
	}
	return b.Header(&tar.Header{Typeflag: typ, Name: name, Mode: mode, Uid: b.UID, Gid: b.GID, PAXRecords: rec}, nil)
}

func getxattr(t *testing.T, p, name string) (string, error) {
	t.Helper()
	buf := make([]byte, 1024)
	n, err := unix.Lgetxattr(p, name, buf)
	if err != nil {
		return "", err
	}
	return string(buf[:n]), nil
}

// TestXattrs: user xattrs are applied to files and directories; a
// directory over a directory loses the xattrs the new entry lacks; policy
// drops overlay and SELinux attributes.
func TestXattrs(t *testing.T) {
	testutil.RequireUserXattr(t)
	forEachBackend(t, func(t *testing.T, res pathrs.Resolver) {
		dir := t.TempDir()
		testutil.MakeTree(t, dir, "dir d")
		if err := unix.Lsetxattr(filepath.Join(dir, "d"), "user.stale", []byte("old"), 0); err != nil {
			t.Fatal(err)
		}
		b := newTar(t)
		xattrHeader(b, tar.TypeReg, "f", 0o644, map[string]string{"user.a": "1", "user.b": "two\x00bytes",
			"user.overlay.opaque": "y", "security.selinux": "system_u:object_r:etc_t:s0"})
		xattrHeader(b, tar.TypeDir, "d", 0o755, map[string]string{"user.keep": "k"})
		r := mustApply(t, dir, res, b.Bytes())
		for _, c := range []struct{ path, name, want string }{
			{"f", "user.a", "1"}, {"f", "user.b", "two\x00bytes"}, {"d", "user.keep", "k"},
		} {
			if got, err := getxattr(t, filepath.Join(dir, c.path), c.name); err != nil || got != c.want {
				t.Errorf("%s %s = %q, %v; want %q", c.path, c.name, got, err, c.want)
			}
		}
		for _, c := range []struct{ path, name string }{{"f", "user.overlay.opaque"}, {"d", "user.stale"}} {
			if _, err := getxattr(t, filepath.Join(dir, c.path), c.name); !errors.Is(err, unix.ENODATA) {
				t.Errorf("%s %s: got %v, want ENODATA", c.path, c.name, err)
			}
		}
		if len(r.Warnings) != 0 {
			t.Errorf("warnings %q, want none", r.Warnings)
		}
	})
}

// TestXattrWarnings: the kernel refuses user xattrs on symlinks and
// FIFOs: one warning per layer, with a count, not an error.
func TestXattrWarnings(t *testing.T) {
	testutil.RequireUserXattr(t)
	b := newTar(t)
	for _, n := range []string{"l1", "l2", "l3"} {
		b.Header(&tar.Header{Typeflag: tar.TypeSymlink, Name: n, Linkname: "x", Uid: b.UID, Gid: b.GID,
			PAXRecords: map[string]string{"SCHILY.xattr.user.x": "1"}}, nil)
	}
	r := mustApply(t, t.TempDir(), pathrs.ResolverAuto, b.Bytes())
	if len(r.Warnings) != 1 || !strings.Contains(r.Warnings[0], "and 2 more") {
		t.Errorf("warnings %q, want one line counting 3", r.Warnings)
	}
}

// TestPrivilegedXattrs: security.capability and trusted.* need root.
func TestPrivilegedXattrs(t *testing.T) {
	testutil.RequireRoot(t)
	// A valid VFS_CAP_REVISION_2 value: cap_net_raw permitted+effective.
	capv := string([]byte{0x01, 0, 0, 0x02, 0x00, 0x20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0})
	forEachBackend(t, func(t *testing.T, res pathrs.Resolver) {
		dir := t.TempDir()
		b := newTar(t)
		b.UID, b.GID = 0, 0
		xattrHeader(b, tar.TypeReg, "ping", 0o755, map[string]string{"security.capability": capv, "trusted.x": "t",
			"trusted.overlay.redirect": "/etc"})
		mustApply(t, dir, res, b.Bytes())
		p := filepath.Join(dir, "ping")
		if got, err := getxattr(t, p, "security.capability"); err != nil || got != capv {
			t.Errorf("security.capability = %x, %v (chown after it would have cleared it)", got, err)
		}
		if got, err := getxattr(t, p, "trusted.x"); err != nil || got != "t" {
			t.Errorf("trusted.x = %q, %v", got, err)
		}
		if _, err := getxattr(t, p, "trusted.overlay.redirect"); !errors.Is(err, unix.ENODATA) {
			t.Errorf("trusted.overlay.redirect: got %v, want it dropped", err)
		}
	})
}

// TestOwnership as root: owners as in the layer, setuid kept after chown,
// implied parents root-owned, hard links get no metadata (umoci
// TestUnpackHardlink).
func TestOwnership(t *testing.T) {
	testutil.RequireRoot(t)
	forEachBackend(t, func(t *testing.T, res pathrs.Resolver) {
		dir := t.TempDir()
		b := testutil.NewTarBuilder(t, 1000, 1001)
		b.File("home/u/f", 0o4755, "x").Symlink("home/u/l", "f").Fifo("home/u/p", 0o600)
		b.Header(&tar.Header{Typeflag: tar.TypeLink, Name: "home/u/h", Linkname: "home/u/f", Uid: 5, Gid: 5, Mode: 0o600}, nil)
		mustApply(t, dir, res, b.Bytes())
		r := openRoot(t, dir, res)
		owner("home/u/f", 1000, 1001)(t, r)
		owner("home/u/l", 1000, 1001)(t, r)
		owner("home/u/p", 1000, 1001)(t, r)
		owner("home", 0, 0)(t, r)
		assertTree(t, dir, "dir home 0755", "dir home/u 0755", "file home/u/f 4755 x", "file home/u/h 4755 x",
			"symlink home/u/l -> f", "fifo home/u/p 0600")
	})
}

// TestOwnershipSetgidDir: a file created in a setgid directory takes the
// directory's group from the kernel, so the chown to the header's owner
// (skipped when the new file already has it) must happen there, also after
// a directory entry turns the setgid bit on half-way through the layer.
func TestOwnershipSetgidDir(t *testing.T) {
	testutil.RequireRoot(t)
	forEachBackend(t, func(t *testing.T, res pathrs.Resolver) {
		dir := t.TempDir()
		b := testutil.NewTarBuilder(t, 0, 0)
		b.Header(&tar.Header{Typeflag: tar.TypeDir, Name: "var/mail/", Uid: 0, Gid: 8, Mode: 0o2775}, nil)
		b.File("var/mail/a", 0o660, "a")
		b.File("var/local/b", 0o644, "b")
		b.Header(&tar.Header{Typeflag: tar.TypeDir, Name: "var/local/", Uid: 0, Gid: 50, Mode: 0o2775}, nil)
		b.File("var/local/c", 0o644, "c")
		mustApply(t, dir, res, b.Bytes())
		r := openRoot(t, dir, res)
		owner("var/mail", 0, 8)(t, r)
		owner("var/mail/a", 0, 0)(t, r)
		owner("var/local/b", 0, 0)(t, r)
		owner("var/local/c", 0, 0)(t, r)
	})
}

// TestIDMap maps container ids to host ids; an unmapped id fails naming the
// entry and the id, with a hint. It runs unprivileged by mapping onto the
// caller's own ids.
func TestIDMap(t *testing.T) {
	uid, gid := uint32(os.Geteuid()), uint32(os.Getegid())
	opts := Options{UIDMap: []IDMap{{ContainerID: 1000, HostID: uid, Size: 1}},
		GIDMap: []IDMap{{ContainerID: 2000, HostID: gid, Size: 1}}}
	forEachBackend(t, func(t *testing.T, res pathrs.Resolver) {
		dir := t.TempDir()
		b := testutil.NewTarBuilder(t, 1000, 2000)
		if _, err := applyTo(t, dir, res, b.File("f", 0o644, "x").Bytes(), opts); err != nil {
			t.Fatalf("Apply: %v", err)
		}
		owner("f", int(uid), int(gid))(t, openRoot(t, dir, res))

		b = testutil.NewTarBuilder(t, 1001, 2000)
		_, err := applyTo(t, dir, res, b.File("g", 0o644, "x").Bytes(), opts)
		if !errors.Is(err, ErrUnmappedID) || !strings.Contains(err.Error(), `entry "g"`) ||
			!strings.Contains(err.Error(), "uid 1001") || !strings.Contains(err.Error(), "/etc/subuid") {
			t.Errorf("unmapped uid: got %v", err)
		}
	})
}

// TestRootless: with Options.Rootless the ownership step is skipped (issue
// 6 will record it instead), so root-owned entries apply unprivileged.
func TestRootless(t *testing.T) {
	forEachBackend(t, func(t *testing.T, res pathrs.Resolver) {
		dir := t.TempDir()
		b := testutil.NewTarBuilder(t, 0, 0)
		b.Dir("etc", 0o755).File("etc/shadow", 0o640, "x").Symlink("etc/l", "shadow")
		if _, err := applyTo(t, dir, res, b.Bytes(), Options{Rootless: true}); err != nil {
			t.Fatalf("Apply: %v", err)
		}
		owner("etc/shadow", os.Geteuid(), os.Getegid())(t, openRoot(t, dir, res))
		assertTree(t, dir, "dir etc 0755", "file etc/shadow 0640 x", "symlink etc/l -> shadow")
	})
}

// TestUnprivilegedChownError: without Rootless, an ordinary user cannot
// apply another user's ownership; the error says what to do.
func TestUnprivilegedChownError(t *testing.T) {
	testutil.RequireNotRoot(t)
	b := testutil.NewTarBuilder(t, 0, 0).File("f", 0o644, "x")
	_, err := applyTo(t, t.TempDir(), pathrs.ResolverAuto, b.Bytes(), Options{})
	if !errors.Is(err, unix.EPERM) || !strings.Contains(err.Error(), "rootless") {
		t.Errorf("got %v, want EPERM with a hint", err)
	}
}

// TestProgress: the callback ends with the totals.
func TestProgress(t *testing.T) {
	b := newTar(t)
	for range 300 {
		b.File("f", 0o644, "x")
	}
	blob := gzipBytes(t, b.Bytes())
	var last Progress
	calls := 0
	r, err := Apply(context.Background(), openRoot(t, t.TempDir(), pathrs.ResolverAuto), bytes.NewReader(blob),
		Options{Progress: func(p Progress) { last = p; calls++ }})
	if err != nil {
		t.Fatal(err)
	}
	if calls == 0 || last.Entries != 300 || last.CompressedBytes != int64(len(blob)) || r.Entries != 300 {
		t.Errorf("progress %+v after %d calls, result %d entries; want 300 entries, %d bytes", last, calls, r.Entries, len(blob))
	}
	if r.Counts.Files != 300 {
		t.Errorf("counts %+v", r.Counts)
	}
}
