package procfs

import (
	"errors"
	"os"
	"runtime"
	"strconv"

	"golang.org/x/sys/unix"

	"github.com/safeunpack/safeunpack/internal/linux"
)

// FdPath returns the path the kernel reports for fd: the target of the magic
// link thread-self/fd/<fd>, read with [Handle.Readlink]'s checks through the
// cached handle. It is what os.Readlink("/proc/self/fd/N") gives, except that
// an overmounted fd/N or a fake /proc is refused with [ErrUnsafeProcfs]
// instead of reported. The result is the kernel's text: a path that may have
// been renamed since or carry a " (deleted)" suffix, or a pseudo-path such as
// "pipe:[1234]" or "anon_inode:[eventfd]"; callers compare it, never open it.
// A closed fd gives EBADF; fd must stay open until FdPath returns (a number
// closed meanwhile may be reused by any open, this package's included).
// Errors are *os.PathError.
func FdPath(fd int) (string, error) {
	if fd < 0 {
		return "", &os.PathError{Op: "readlink", Path: fdDisplay(fd), Err: unix.EBADF}
	}
	target, err := Readlink(ProcThreadSelf, "fd/"+strconv.Itoa(fd))
	if err != nil && errors.Is(err, unix.ENOENT) && !fdOpen(fd) {
		return "", &os.PathError{Op: "readlink", Path: fdDisplay(fd), Err: unix.EBADF}
	}
	return target, err
}

// fdOpen reports whether fd is an open file descriptor.
func fdOpen(fd int) bool {
	_, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0)
	return err == nil
}

// fdDisplay is the path shown in errors about fd.
func fdDisplay(fd int) string { return "/proc/thread-self/fd/" + strconv.Itoa(fd) }

// Reopen opens the file that fd refers to (typically an O_PATH handle from
// pathrs) anew with flags, through the magic link thread-self/fd/<fd> of the
// cached handle. Effectively it is os.OpenFile("/proc/self/fd/N", flags, 0),
// but the naive call trusts whatever /proc the process sees: with a fake or
// overmounted /proc, a reopen meant to upgrade a verified handle can open
// any file of the attacker's choosing (CVE-2019-19921). Here the fd
// directory is reached with [Handle.Open]'s checks, the link must lie on the
// handle's mount, and the new file must be the same inode (device and inode
// number) as fd, else the error matches [ErrUnsafeProcfs].
//
// O_NOFOLLOW is dropped (the magic link must be followed), O_CLOEXEC is
// added, and O_CREAT, O_EXCL and O_TMPFILE are refused with EINVAL. An fd
// referring to a symlink (O_PATH|O_NOFOLLOW) is refused with ELOOP: reopening
// a symlink through its magic link would open its target. Use it where no
// syscall takes AT_EMPTY_PATH for the operation. Errors are *os.PathError.
func Reopen(fd int, flags int) (*os.File, error) {
	flags, err := checkOpenFlags(flags)
	if err != nil {
		return nil, &os.PathError{Op: "reopen", Path: fdDisplay(fd), Err: err}
	}
	flags &^= unix.O_NOFOLLOW
	var want unix.Stat_t
	if err := linux.RetryEINTR(func() error { return unix.Fstat(fd, &want) }); err != nil {
		return nil, &os.PathError{Op: "reopen", Path: fdDisplay(fd), Err: err}
	}
	if want.Mode&unix.S_IFMT == unix.S_IFLNK {
		return nil, &os.PathError{Op: "reopen", Path: fdDisplay(fd), Err: unix.ELOOP}
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	h, err := defaultHandle()
	if err != nil {
		return nil, &os.PathError{Op: "reopen", Path: fdDisplay(fd), Err: err}
	}
	defer h.releaseTemp()
	name := strconv.Itoa(fd)
	nfd := -1
	// Not strict: the only non-O_PATH open happens relative to an fd
	// directory whose mount id was checked.
	err = h.run(ProcThreadSelf, false, func(cur *Handle) error {
		return cur.inBase(ProcThreadSelf, "fd", func(rel string) error {
			dfd, e := cur.lookup(rel, unix.O_PATH|unix.O_DIRECTORY, false)
			if e != nil {
				return e
			}
			defer unix.Close(dfd) //nolint:errcheck // O_PATH fd
			nfd, e = cur.openMagic(dfd, name, flags)
			return e
		})
	})
	if err != nil {
		return nil, &os.PathError{Op: "reopen", Path: fdDisplay(fd), Err: err}
	}
	var got unix.Stat_t
	if err := unix.Fstat(nfd, &got); err != nil || got.Dev != want.Dev || got.Ino != want.Ino {
		_ = unix.Close(nfd)
		if err == nil {
			err = unsafef("reopened inode %d:%d, fd %d is inode %d:%d", got.Dev, got.Ino, fd, want.Dev, want.Ino)
		}
		return nil, &os.PathError{Op: "reopen", Path: fdDisplay(fd), Err: err}
	}
	return os.NewFile(uintptr(nfd), fdDisplay(fd)), nil
}
