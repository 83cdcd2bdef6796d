package pathrs

import (
	"errors"
	"time"

	"golang.org/x/sys/unix"

	"github.com/safeunpack/safeunpack/internal/linux"
)

// openat2MaxRetries is the least number of times a scoped openat2(2) is
// re-issued when the kernel answers EAGAIN (a rename or mount anywhere on
// the system raced with a ".." walk). libpathrs and filepath-securejoin moved
// from 32 to 128 after measuring ~3% versus ~0.1% failures under a rename
// storm (performance.md).
const openat2MaxRetries = 128

// openat2Deadline is the least wall-clock time spent retrying EAGAIN before
// unix.EAGAIN is returned: runc retries the same call for 2 ms. Retrying
// stops once both bounds are passed, so a thread descheduled between two
// attempts (one time slice on a loaded machine is several ms) still makes
// all of them, and a sustained rename storm still ends promptly.
const openat2Deadline = 5 * time.Millisecond

// resolveFlags are the openat2 scoping flags of every in-root lookup.
const resolveFlags = unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS

// Test seams: swapped only in tests (restored with t.Cleanup).
var (
	// testForceEmulated makes every Root use the emulated resolver.
	testForceEmulated = false
	// testOpenat2 replaces the openat2 system call.
	testOpenat2 = linux.Openat2
	// testHasOpenat2 replaces the openat2 usability probe.
	testHasOpenat2 = linux.HasOpenat2
)

// useEmulated reports whether lookups in r go through the userspace walker.
func (r *Root) useEmulated() bool {
	return testForceEmulated || r.resolver == ResolverEmulated
}

// openInRoot resolves unsafePath inside the root and opens it with flags
// (O_CLOEXEC is always added; add O_NOFOLLOW to not follow a final symlink).
// It returns a bare errno or a pathrs sentinel; callers wrap it.
func (r *Root) openInRoot(unsafePath string, flags int) (int, error) {
	if hasNUL(unsafePath) {
		return -1, unix.EINVAL
	}
	if len(unsafePath) >= maxPathLen {
		return -1, unix.ENAMETOOLONG
	}
	if unsafePath == "" {
		unsafePath = "."
	}
	if flags&unix.O_PATH == 0 {
		flags |= unix.O_NOCTTY
	}
	return useFd(r.fd, func(rootfd int) (int, error) {
		if !r.useEmulated() {
			fd, err := openat2InRoot(rootfd, unsafePath, flags)
			if err == nil || !openat2Unusable(err) {
				return fd, err
			}
		}
		return r.walkOpen(rootfd, unsafePath, flags)
	})
}

// openat2InRoot is one scoped openat2(2) lookup with EAGAIN retries.
func openat2InRoot(rootfd int, unsafePath string, flags int) (int, error) {
	how := unix.OpenHow{Flags: uint64(flags), Resolve: resolveFlags}
	var start time.Time
	for i := 0; ; i++ {
		fd, err := testOpenat2(rootfd, unsafePath, &how)
		if !errors.Is(err, unix.EAGAIN) {
			return fd, err
		}
		if i == 0 {
			start = time.Now()
		} else if i >= openat2MaxRetries && time.Since(start) > openat2Deadline {
			return -1, unix.EAGAIN
		}
	}
}

// openat2Unusable decides whether a failed openat2 call means the syscall
// itself is unusable (old kernel, seccomp) rather than that the lookup
// failed. It runs a trivial probe, which latches only failure: an ordinary
// lookup error never downgrades us to the emulated resolver, because an
// attacker could otherwise provoke errors to force the weaker backend.
func openat2Unusable(err error) bool {
	for _, lookupErr := range []unix.Errno{
		unix.ENOENT, unix.ENOTDIR, unix.ELOOP, unix.EXDEV, unix.EAGAIN,
		unix.ENAMETOOLONG, unix.EEXIST, unix.EISDIR,
	} {
		if errors.Is(err, lookupErr) {
			// Answers only a working openat2 gives: no probe needed.
			return false
		}
	}
	return !testHasOpenat2()
}
