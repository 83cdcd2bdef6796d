package procfs

import (
	"os"
	"runtime"
	"strconv"

	"golang.org/x/sys/unix"

	"github.com/safeunpack/safeunpack/internal/linux"
)

// ChmodFd changes the mode of the inode fd refers to (typically an O_PATH
// handle, on which fchmod(2) fails with EBADF) by following the magic link
// thread-self/fd/<fd> with fchmodat(2). It is the fallback for kernels
// without fchmodat2(2) (Linux 6.6), which takes AT_EMPTY_PATH. Effectively
// it is os.Chmod("/proc/self/fd/N", mode), but the fd directory is reached
// with [Handle.Open]'s checks and the link must lie on the handle's mount,
// so an overmounted fd/N or a fake /proc cannot redirect the chmod
// (CVE-2019-19921's reopen trick, applied to a mode change). An fd that
// refers to a symlink is refused with ELOOP: following its magic link would
// change the symlink's target. Errors are *os.PathError.
func ChmodFd(fd int, mode uint32) error {
	var st unix.Stat_t
	if err := linux.RetryEINTR(func() error { return unix.Fstat(fd, &st) }); err != nil {
		return &os.PathError{Op: "chmod", Path: fdDisplay(fd), Err: err}
	}
	if st.Mode&unix.S_IFMT == unix.S_IFLNK {
		return &os.PathError{Op: "chmod", Path: fdDisplay(fd), Err: unix.ELOOP}
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	h, err := defaultHandle()
	if err != nil {
		return &os.PathError{Op: "chmod", Path: fdDisplay(fd), Err: err}
	}
	defer h.releaseTemp()
	name := strconv.Itoa(fd)
	err = h.run(ProcThreadSelf, false, func(cur *Handle) error {
		return cur.inBase(ProcThreadSelf, "fd", func(rel string) error {
			dfd, e := cur.lookup(rel, unix.O_PATH|unix.O_DIRECTORY, false)
			if e != nil {
				return e
			}
			defer unix.Close(dfd) //nolint:errcheck // O_PATH fd
			link, _, e := pathMountID(cur.fd, dfd, name)
			if e != nil {
				return e
			}
			if !link.same(cur.mnt) {
				return unsafef("magic link fd/%s is on mount %d, the %s handle on mount %d (something is mounted over it)",
					name, link.id, cur.rung, cur.mnt.id)
			}
			return linux.RetryEINTR(func() error { return unix.Fchmodat(dfd, name, mode, 0) })
		})
	})
	if err != nil {
		return &os.PathError{Op: "chmod", Path: fdDisplay(fd), Err: err}
	}
	return nil
}
