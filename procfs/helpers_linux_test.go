package procfs

import (
	"errors"
	"os"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/safeunpack/safeunpack/internal/linux"
	"github.com/safeunpack/safeunpack/internal/testutil"
)

// swap sets *p to v for the rest of the test (go-style.md rule 8).
func swap[T any](t testing.TB, p *T, v T) {
	t.Helper()
	old := *p
	*p = v
	t.Cleanup(func() { *p = old })
}

// resetCache empties the process-wide handle for the rest of the test, so
// that the ladder runs again under the test's seams and namespace. Whatever
// the test leaves cached is closed afterwards and the previous handle put
// back.
func resetCache(t testing.TB) {
	t.Helper()
	old := cached.Swap(nil)
	t.Cleanup(func() {
		if h := cached.Swap(old); h != nil && h != old {
			h.shared = false
			_ = h.Close()
		}
	})
}

// errRungDisabled is what a rung forced to fail returns.
var errRungDisabled = errors.New("rung disabled by test seam")

// failRungs makes the given rungs fail for the rest of the test and empties
// the cache.
func failRungs(t testing.TB, rungs ...Rung) {
	t.Helper()
	resetCache(t)
	for _, r := range rungs {
		switch r {
		case RungFsopen:
			swap(t, &openFsopen, func(bool) (int, error) { return -1, errRungDisabled })
		case RungOpenTree, RungOpenTreeRecursive:
			prev := openTree
			recursive := r == RungOpenTreeRecursive
			swap(t, &openTree, func(rec bool) (int, error) {
				if rec == recursive {
					return -1, errRungDisabled
				}
				return prev(rec)
			})
		case RungHostProc:
			swap(t, &openHost, func() (int, error) { return -1, errRungDisabled })
		}
	}
}

// forceRung makes every rung before r fail.
func forceRung(t testing.TB, r Rung) {
	t.Helper()
	var before []Rung
	for _, l := range ladder {
		if l == r {
			break
		}
		before = append(before, l)
	}
	failRungs(t, before...)
}

// variant is one way of resolving and identifying mounts: every lookup test
// runs under each, as filepath-securejoin's WithWithoutOpenat2 does.
type variant struct {
	name string
	// emulated forces the emulated walk instead of openat2.
	emulated bool
	// fdinfo hides statx mount ids, forcing the fdinfo fallback.
	fdinfo bool
}

var variants = []variant{
	{name: "openat2"},
	{name: "emulated", emulated: true},
	{name: "openat2-fdinfo", fdinfo: true},
	{name: "emulated-fdinfo", emulated: true, fdinfo: true},
}

// apply installs the variant's seams for the rest of the test.
func (v variant) apply(t testing.TB) {
	t.Helper()
	if v.emulated {
		swap(t, &openat2Enabled, func() bool { return false })
		swap(t, &openat2Usable, func() bool { return false })
	}
	if v.fdinfo {
		swap(t, &statxMountID, func(dirfd int, path string, flags int) (uint64, uint64, linux.MountIDSource, error) {
			_, ino, _, err := linux.StatxMountID(dirfd, path, flags)
			return 0, ino, linux.MountIDNone, err
		})
	}
}

// forEachVariant runs fn as a subtest under every variant, with an empty
// cache so that handles are built under the variant's seams.
func forEachVariant(t *testing.T, fn func(t *testing.T)) {
	t.Helper()
	for _, v := range variants {
		t.Run(v.name, func(t *testing.T) {
			v.apply(t)
			resetCache(t)
			fn(t)
		})
	}
}

// checkHandle asserts the verification properties of h independently of
// the code under test: procfs, root inode, recorded mount id, detachment and
// subset as reported.
func checkHandle(t testing.TB, h *Handle) {
	t.Helper()
	var sfs unix.Statfs_t
	if err := unix.Fstatfs(h.fd, &sfs); err != nil || sfs.Type != unix.PROC_SUPER_MAGIC {
		t.Fatalf("%s handle: f_type %#x (err %v), want PROC_SUPER_MAGIC", h.Rung(), sfs.Type, err)
	}
	var stx unix.Statx_t
	if err := unix.Statx(h.fd, "", unix.AT_EMPTY_PATH, unix.STATX_INO|unix.STATX_MNT_ID|unix.STATX_MNT_ID_UNIQUE, &stx); err != nil {
		t.Fatalf("statx handle: %v", err)
	}
	if stx.Ino != 1 {
		t.Errorf("%s handle: inode %d, want 1", h.Rung(), stx.Ino)
	}
	want := stx.Mnt_id
	if h.mnt.src == srcFdinfo {
		// fdinfo gives the legacy id: ask statx for exactly that one.
		var legacy unix.Statx_t
		if err := unix.Statx(h.fd, "", unix.AT_EMPTY_PATH, unix.STATX_MNT_ID, &legacy); err != nil {
			t.Fatalf("statx handle: %v", err)
		}
		want = legacy.Mnt_id
	}
	if h.MountID() != want {
		t.Errorf("%s handle: MountID() %d (from %s), statx says %d", h.Rung(), h.MountID(), h.mnt.src, want)
	}
	var up unix.Statx_t
	if err := unix.Statx(h.fd, "..", unix.AT_SYMLINK_NOFOLLOW, unix.STATX_INO|unix.STATX_MNT_ID|unix.STATX_MNT_ID_UNIQUE, &up); err != nil {
		t.Fatalf("statx handle/..: %v", err)
	}
	if attached := up.Mnt_id != stx.Mnt_id; attached == h.Detached() {
		t.Errorf("%s handle: Detached() %t, but its parent is on mount %d and it on %d", h.Rung(), h.Detached(), up.Mnt_id, stx.Mnt_id)
	}
	if h.Rung().detachedKind() != h.Detached() {
		t.Errorf("%s handle: Detached() %t", h.Rung(), h.Detached())
	}
	var st unix.Stat_t
	subset := errors.Is(unix.Fstatat(h.fd, "uptime", &st, unix.AT_SYMLINK_NOFOLLOW), unix.ENOENT)
	if subset != h.Subset() {
		t.Errorf("%s handle: Subset() %t, uptime missing %t", h.Rung(), h.Subset(), subset)
	}
	// The handle works: self/stat starts with our pid.
	f, err := h.Open(ProcSelf, "stat", unix.O_RDONLY)
	if err != nil {
		t.Fatalf("%s handle: open self/stat: %v", h.Rung(), err)
	}
	defer f.Close()
	buf := make([]byte, 64)
	n, _ := f.Read(buf)
	if pid, _, _ := strings.Cut(string(buf[:n]), " "); pid != strconv.Itoa(os.Getpid()) {
		t.Errorf("%s handle: self/stat starts with pid %q, want %d", h.Rung(), pid, os.Getpid())
	}
}

// buildRungOrSkip builds a handle of rung r, skipping the test with the
// kernel's reason when the rung is unavailable here (no privilege).
func buildRungOrSkip(t testing.TB, r Rung, subset bool) *Handle {
	t.Helper()
	h, err := buildRung(r, subset)
	if err != nil {
		if errors.Is(err, unix.EPERM) || errors.Is(err, unix.EACCES) || errors.Is(err, unix.EINVAL) {
			t.Skipf("%s rung unavailable here: %v", r, err)
		}
		t.Fatalf("build %s handle: %v", r, err)
	}
	t.Cleanup(func() { _ = h.Close() })
	return h
}

// privateMountNS moves the test onto a thread in a private mount namespace
// (testutil.PrivateMountNS) and double-checks, through this package, that
// the namespace really changed before the test mounts anything.
func privateMountNS(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("test requires euid 0 (of any user namespace) to mount in a private mount namespace")
	}
	before, err := Readlink(ProcThreadSelf, "ns/mnt")
	if err != nil {
		t.Fatalf("readlink ns/mnt: %v", err)
	}
	testutil.PrivateMountNS(t)
	after, err := Readlink(ProcThreadSelf, "ns/mnt")
	if err != nil {
		t.Fatalf("readlink ns/mnt: %v", err)
	}
	if before == after {
		t.Fatalf("still in mount namespace %s after unshare: refusing to mount anything", after)
	}
}

// mountOrSkip mounts inside the test's private namespace; a mount the kernel
// refuses skips the test with a message saying so. The caller must have
// called privateMountNS.
func mountOrSkip(t testing.TB, src, dst, fstype string, flags uintptr, data string) {
	t.Helper()
	err := unix.Mount(src, dst, fstype, flags, data)
	switch {
	case err == nil:
	case errors.Is(err, unix.EACCES), errors.Is(err, unix.EPERM), errors.Is(err, unix.ENOENT), errors.Is(err, unix.EINVAL):
		t.Skipf("the kernel refuses to mount %s on %s (%v); Linux 6.12+ refuses mounts on /proc/<pid>/{fd,fdinfo,map_files}/* and some other procfs files", src, dst, err)
	default:
		t.Fatalf("mount %s on %s: %v", src, dst, err)
	}
}

// wantUnsafe fails unless err matches ErrUnsafeProcfs and EXDEV.
func wantUnsafe(t testing.TB, what string, err error) {
	t.Helper()
	if !errors.Is(err, ErrUnsafeProcfs) || !errors.Is(err, unix.EXDEV) {
		t.Errorf("%s: got err %v, want ErrUnsafeProcfs (EXDEV)", what, err)
	}
}

// withReexec runs body as the subtest "direct", then again in a child
// process for each mode (testutil.Reexec), as the subtest named after the
// mode. In the re-executed child only that subtest runs, directly.
func withReexec(t *testing.T, body func(t *testing.T), modes ...testutil.ReexecMode) {
	t.Helper()
	if child := testutil.ReexecChild(); child != "" {
		t.Run(string(child), body)
		return
	}
	t.Run("direct", body)
	for _, m := range modes {
		t.Run(string(m), func(t *testing.T) {
			if m == testutil.InUserNSRoot || m == testutil.InUserMountNSRoot {
				testutil.ReexecUserNSRoot(t, m)
				return
			}
			testutil.Reexec(t, m)
		})
	}
}
