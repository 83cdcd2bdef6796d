package pathrs

import (
	"os"

	"golang.org/x/sys/unix"

	"github.com/safeunpack/safeunpack/internal/linux"
	"github.com/safeunpack/safeunpack/procfs"
)

// Handle is an O_PATH handle to an inode inside a [Root], from
// [Root.Resolve] or [Root.ResolveNoFollow]. Holding an O_PATH descriptor
// opens nothing: no FIFO blocks, no device driver runs, no terminal becomes
// controlling (this is why resolution returns handles rather than open
// files). A Handle is safe for concurrent use; Close may be called many
// times.
type Handle struct {
	fd   *fdRef
	root *Root
	name string
}

func newHandle(root *Root, fd int, name string) *Handle {
	return &Handle{fd: newFdRef(fd), root: root, name: name}
}

// Name returns the path the handle was resolved from, for messages only.
func (h *Handle) Name() string { return h.name }

// Close closes the handle. It may be called many times.
func (h *Handle) Close() error { return h.fd.close() }

func (h *Handle) pathErr(op string, err error) error {
	return &os.PathError{Op: op, Path: h.name, Err: err}
}

// Stat is fstat(2) of the handle's inode (a symlink's own metadata for a
// handle from ResolveNoFollow).
func (h *Handle) Stat() (unix.Stat_t, error) {
	var st unix.Stat_t
	err := h.fd.use(func(fd int) error { return unix.Fstat(fd, &st) })
	if err != nil {
		return st, h.pathErr("fstat", err)
	}
	return st, nil
}

// Reopen opens the handle's inode with flags, without resolving any path
// again. Directories are re-opened through "." of the handle; other inodes
// through the verified procfs (/proc/thread-self/fd/N, see
// [procfs.Reopen]): the kernel has no O_EMPTYPATH, and a plain
// open("/proc/self/fd/N") could be redirected by an overmounted /proc
// (CVE-2019-19921). A symlink handle fails with ELOOP: it cannot be opened.
// O_NOFOLLOW is dropped (it would apply to the magic link); O_CLOEXEC is
// always set; O_CREAT is refused.
func (h *Handle) Reopen(flags int) (*os.File, error) {
	if createsSomething(flags) {
		return nil, h.pathErr("reopen", unix.EINVAL)
	}
	flags &^= unix.O_NOFOLLOW
	fd, err := useFd(h.fd, func(fd int) (int, error) { return reopenFd(fd, flags) })
	if err != nil {
		return nil, h.pathErr("reopen", err)
	}
	return os.NewFile(uintptr(fd), h.name), nil
}

// reopenFd opens the inode of the O_PATH descriptor fd with flags.
func reopenFd(fd int, flags int) (int, error) {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return -1, err
	}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFLNK:
		return -1, unix.ELOOP
	case unix.S_IFDIR:
		return linux.Openat(fd, ".", flags, 0)
	}
	if flags&unix.O_PATH == 0 {
		flags |= unix.O_NOCTTY
	}
	f, err := testReopen(fd, flags)
	if err != nil {
		return -1, err
	}
	// Hand back a plain descriptor; the *os.File wrapper is dropped
	// without closing it.
	newfd, err := linux.RetryEINTR2(func() (int, error) {
		return unix.FcntlInt(f.Fd(), unix.F_DUPFD_CLOEXEC, 0)
	})
	_ = f.Close()
	return newfd, err
}

// Test seam: the procfs re-open used for non-directories.
var testReopen = procfs.Reopen
