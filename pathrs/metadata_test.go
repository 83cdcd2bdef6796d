package pathrs

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/safeunpack/safeunpack/internal/testutil"
)

// withFallbacks runs fn with the modern syscalls available and again with
// fchmodat2 and the *xattrat family hidden, so the procfs and reopen paths
// are exercised on this kernel too.
func withFallbacks(t *testing.T, fn func(t *testing.T)) {
	t.Helper()
	t.Run("modern", fn)
	t.Run("fallback", func(t *testing.T) {
		oldChmod, oldXattr := testHasFchmodat2, testHasXattrat
		testHasFchmodat2 = func() bool { return false }
		testHasXattrat = func() bool { return false }
		t.Cleanup(func() { testHasFchmodat2, testHasXattrat = oldChmod, oldXattr })
		fn(t)
	})
}

func statAt(t testing.TB, p string) unix.Stat_t {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Lstat(p, &st); err != nil {
		t.Fatalf("lstat %q: %v", p, err)
	}
	return st
}

func TestChmod(t *testing.T) {
	withFallbacks(t, func(t *testing.T) {
		forEachBackend(t, func(t *testing.T, b backend) {
			c := resolveTree(t)
			r := openTestRoot(t, c.Root, b)
			// Symlinks: no-op on the link, the victim keeps its mode (T25).
			if err := r.Chmod("host-victim", 0o777); err != nil {
				t.Fatalf("Chmod(symlink): %v", err)
			}
			if err := r.Chmod("target", 0o4755); err != nil {
				t.Fatalf("Chmod(setuid): %v", err)
			}
			if got := statAt(t, filepath.Join(c.Root, "target")).Mode & 0o7777; got != 0o4755 {
				t.Fatalf("Chmod: mode %o, want 4755", got)
			}
			d, err := r.OpenDir("a")
			if err != nil {
				t.Fatal(err)
			}
			defer d.Close()
			if err := d.Chmod("", 0o1750); err != nil {
				t.Fatal(err)
			}
			if err := d.Chmod("b", 0o2711); err != nil {
				t.Fatal(err)
			}
			if got := statAt(t, filepath.Join(c.Root, "a")).Mode & 0o7777; got != 0o1750 {
				t.Fatalf("Dir.Chmod(self): mode %o", got)
			}
			if got := statAt(t, filepath.Join(c.Root, "a/b")).Mode & 0o7777; got != 0o2711 {
				t.Fatalf("Dir.Chmod(b): mode %o", got)
			}
			if err := d.Chmod("b", 0o10000); !errors.Is(err, ErrInvalidMode) {
				t.Fatalf("Chmod(bad mode): got %v", err)
			}
			if err := r.Chmod("fifo", 0o600); err != nil {
				t.Fatalf("Chmod(fifo): %v", err)
			}
			c.Check(t)
		})
	})
}

func TestLchown(t *testing.T) {
	testutil.RequireRoot(t)
	forEachBackend(t, func(t *testing.T, b backend) {
		c := resolveTree(t)
		r := openTestRoot(t, c.Root, b)
		if err := r.Lchown("host-victim", 4242, 4343); err != nil {
			t.Fatalf("Lchown(symlink): %v", err)
		}
		st := statAt(t, filepath.Join(c.Root, "host-victim"))
		if st.Uid != 4242 || st.Gid != 4343 {
			t.Fatalf("Lchown(symlink): owner %d:%d", st.Uid, st.Gid)
		}
		d, err := r.OpenDir("a/b")
		if err != nil {
			t.Fatal(err)
		}
		defer d.Close()
		if err := d.Lchown("c", 1, 2); err != nil {
			t.Fatal(err)
		}
		if err := d.Lchown("", 3, 4); err != nil {
			t.Fatal(err)
		}
		if st := statAt(t, filepath.Join(c.Root, "a/b")); st.Uid != 3 || st.Gid != 4 {
			t.Fatalf("Dir.Lchown(self): %d:%d", st.Uid, st.Gid)
		}
		c.Check(t) // T26: the victim's owner is unchanged
	})
}

func TestUtimes(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		c := resolveTree(t)
		r := openTestRoot(t, c.Root, b)
		mtime := time.Date(1970, 1, 2, 3, 4, 5, 123456789, time.UTC)
		atime := time.Date(1980, 1, 2, 3, 4, 5, 987654321, time.UTC)
		if err := r.Utimes("host-victim", atime, mtime); err != nil {
			t.Fatalf("Utimes(symlink): %v", err)
		}
		st := statAt(t, filepath.Join(c.Root, "host-victim"))
		if st.Mtim.Nano() != mtime.UnixNano() || st.Atim.Nano() != atime.UnixNano() {
			t.Fatalf("Utimes(symlink): got %d/%d", st.Atim.Nano(), st.Mtim.Nano())
		}
		// A zero time leaves the timestamp alone.
		if err := r.Utimes("host-victim", time.Time{}, mtime.Add(time.Second)); err != nil {
			t.Fatal(err)
		}
		if st2 := statAt(t, filepath.Join(c.Root, "host-victim")); st2.Atim != st.Atim {
			t.Fatalf("zero atime changed the atime")
		}
		d, err := r.Dir()
		if err != nil {
			t.Fatal(err)
		}
		defer d.Close()
		if err := d.Utimes("", atime, mtime); err != nil {
			t.Fatal(err)
		}
		rst := statAt(t, c.Root)
		if got := rst.Mtim.Nano(); got != mtime.UnixNano() {
			t.Fatalf("Dir.Utimes(self): %d", got)
		}
		c.Check(t) // T27: the victim's mtime is unchanged
	})
}

func TestXattrs(t *testing.T) {
	testutil.RequireUserXattr(t)
	withFallbacks(t, func(t *testing.T) {
		forEachBackend(t, func(t *testing.T, b backend) {
			c := resolveTree(t)
			r := openTestRoot(t, c.Root, b)
			if err := r.Lsetxattr("target", "user.k", []byte("v"), 0); err != nil {
				t.Fatalf("Lsetxattr(file): %v", err)
			}
			v, err := r.Lgetxattr("target", "user.k")
			if err != nil || string(v) != "v" {
				t.Fatalf("Lgetxattr: %q, %v", v, err)
			}
			names, err := r.Llistxattr("target")
			if err != nil || !contains(names, "user.k") {
				t.Fatalf("Llistxattr: %q, %v", names, err)
			}
			if err := r.Lremovexattr("target", "user.k"); err != nil {
				t.Fatal(err)
			}
			if _, err := r.Lgetxattr("target", "user.k"); !errors.Is(err, unix.ENODATA) {
				t.Fatalf("Lgetxattr after remove: %v", err)
			}
			// Directories, including the root itself.
			if err := r.Lsetxattr("a/b", "user.d", []byte("1"), 0); err != nil {
				t.Fatalf("Lsetxattr(dir): %v", err)
			}
			if err := r.Lsetxattr("/", "user.r", []byte("1"), 0); err != nil {
				t.Fatalf("Lsetxattr(root): %v", err)
			}
			// On a symlink to the victim the kernel refuses user.* on the
			// link itself; the victim must never get it (T28).
			err = r.Lsetxattr("host-victim", "user.evil", []byte("1"), 0)
			if err == nil {
				t.Fatalf("Lsetxattr(user.* on symlink) succeeded")
			}
			if _, err := r.Lgetxattr("x", "bad\x00name"); !errors.Is(err, unix.EINVAL) {
				t.Fatalf("NUL in xattr name: %v", err)
			}
			c.Check(t)
		})
	})
}

func TestTrustedXattrOnSymlink(t *testing.T) {
	testutil.RequireRoot(t)
	forEachBackend(t, func(t *testing.T, b backend) {
		c := resolveTree(t)
		r := openTestRoot(t, c.Root, b)
		if err := r.Lsetxattr("host-victim", "trusted.t", []byte("1"), 0); err != nil {
			t.Fatalf("Lsetxattr(trusted.* on symlink): %v", err)
		}
		v, err := r.Lgetxattr("host-victim", "trusted.t")
		if err != nil || string(v) != "1" {
			t.Fatalf("Lgetxattr(symlink): %q %v", v, err)
		}
		c.Check(t)
	})
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func TestHandleReopen(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		c := resolveTree(t)
		r := openTestRoot(t, c.Root, b)
		h, err := r.Resolve("a/b/c/passwd")
		if err != nil {
			t.Fatal(err)
		}
		defer h.Close()
		f, err := h.Reopen(unix.O_RDONLY | unix.O_NOFOLLOW)
		if err != nil {
			t.Fatalf("Reopen: %v", err)
		}
		data := make([]byte, 32)
		n, _ := f.Read(data)
		f.Close()
		if string(data[:n]) != "root-passwd" {
			t.Fatalf("Reopen read %q", data[:n])
		}
		lh, err := r.ResolveNoFollow("host-victim")
		if err != nil {
			t.Fatal(err)
		}
		defer lh.Close()
		if _, err := lh.Reopen(unix.O_RDONLY); !errors.Is(err, unix.ELOOP) {
			t.Fatalf("Reopen(symlink handle): got %v, want ELOOP", err)
		}
		dh, err := r.Resolve("abs")
		if err != nil {
			t.Fatal(err)
		}
		defer dh.Close()
		df, err := dh.Reopen(unix.O_RDONLY | unix.O_DIRECTORY)
		if err != nil {
			t.Fatalf("Reopen(dir): %v", err)
		}
		names, err := df.Readdirnames(-1)
		df.Close()
		if err != nil || !contains(names, "c") {
			t.Fatalf("Reopen(dir) listing %q %v", names, err)
		}
		c.Check(t)
	})
}

func TestDirOps(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		c := resolveTree(t)
		r := openTestRoot(t, c.Root, b)
		d, err := r.OpenDir("rel")
		if err != nil {
			t.Fatal(err)
		}
		defer d.Close()
		for _, bad := range []string{"", ".", "..", "a/b", "x\x00"} {
			if err := d.Mkdir(bad, 0o755); !errors.Is(err, ErrInvalidName) {
				t.Errorf("Mkdir(%q): got %v, want ErrInvalidName", bad, err)
			}
		}
		if _, err := d.OpenDir("up"); !errors.Is(err, unix.ENOTDIR) {
			t.Fatalf("OpenDir(symlink): got %v, want ENOTDIR", err)
		}
		names, err := d.ReadDirNames(0)
		if err != nil || !contains(names, "c") || !contains(names, "up") {
			t.Fatalf("ReadDirNames: %q %v", names, err)
		}
		if _, err := d.ReadDirNames(1); !errors.Is(err, ErrTooManyEntries) {
			t.Fatalf("ReadDirNames(limit 1): got %v", err)
		}
		if empty, err := d.IsEmpty(); err != nil || empty {
			t.Fatalf("IsEmpty: %v %v", empty, err)
		}
		if err := d.Mkdir("e", 0o755); err != nil {
			t.Fatal(err)
		}
		e, err := d.OpenDir("e")
		if err != nil {
			t.Fatal(err)
		}
		defer e.Close()
		if empty, err := e.IsEmpty(); err != nil || !empty {
			t.Fatalf("IsEmpty(new): %v %v", empty, err)
		}
		// A Dir keeps working after its Root is closed for local ops, and
		// Close twice is fine.
		if err := e.Close(); err != nil {
			t.Fatal(err)
		}
		if err := e.Close(); err != nil {
			t.Fatalf("second Close: %v", err)
		}
		if err := e.Mkdir("x", 0o755); !errors.Is(err, unix.EBADF) {
			t.Fatalf("use after Close: got %v, want EBADF", err)
		}
		if _, err := os.Lstat(filepath.Join(c.Root, "a/b/e")); err != nil {
			t.Fatal(err)
		}
		c.Check(t)
	})
}

// TestUtimesFarDates: times far outside UnixNano's range (tar headers can
// carry them) are set exactly.
func TestUtimesFarDates(t *testing.T) {
	c := resolveTree(t)
	r, err := OpenRoot(c.Root)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	// 2400 is past UnixNano's 2262 and inside every common filesystem's range
	// (ext4 stops at 2446).
	for _, when := range []time.Time{time.Date(2400, 6, 1, 0, 0, 0, 7, time.UTC)} {
		if err := r.Utimes("target", when, when); err != nil {
			t.Fatal(err)
		}
		st := statAt(t, filepath.Join(c.Root, "target"))
		if st.Mtim.Sec != when.Unix() || st.Mtim.Nsec != int64(when.Nanosecond()) {
			t.Fatalf("Utimes(%v): got %d.%09d", when, st.Mtim.Sec, st.Mtim.Nsec)
		}
	}
}
