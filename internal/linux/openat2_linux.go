package linux

import (
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// Openat2 is openat2(2) retried on EINTR. O_CLOEXEC is always added.
func Openat2(dirfd int, path string, how *unix.OpenHow) (int, error) {
	h := *how
	h.Flags |= unix.O_CLOEXEC
	return RetryEINTR2(func() (int, error) { return unix.Openat2(dirfd, path, &h) })
}

// Openat is openat(2) retried on EINTR. O_CLOEXEC is always added.
func Openat(dirfd int, path string, flags int, mode uint32) (int, error) {
	return RetryEINTR2(func() (int, error) { return unix.Openat(dirfd, path, flags|unix.O_CLOEXEC, mode) })
}

// openat2Broken latches true once openat2 was found unusable. Only failure is
// cached: a process may install a seccomp filter later (libpathrs 0.2.2).
var openat2Broken atomic.Bool

// HasOpenat2 reports whether openat2(2) is usable: not ENOSYS (kernel < 5.6)
// and not denied by seccomp. It probes with a trivial call until the first
// failure, which it then remembers for the life of the process.
func HasOpenat2() bool {
	if openat2Broken.Load() {
		return false
	}
	fd, err := Openat2(unix.AT_FDCWD, ".", &unix.OpenHow{
		Flags:   unix.O_PATH | unix.O_DIRECTORY,
		Resolve: unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_IN_ROOT,
	})
	if err != nil {
		openat2Broken.Store(true)
		return false
	}
	_ = unix.Close(fd)
	return true
}
