package procfs

import (
	"errors"

	"golang.org/x/sys/unix"

	"github.com/safeunpack/safeunpack/internal/linux"
)

// procRootIno is the inode number of the root directory of every procfs
// instance (PROC_ROOT_INO in the kernel's include/linux/proc_ns.h; part of
// the ABI). No other procfs directory has it.
const procRootIno = 1

// isProcfs checks that fd is on a procfs filesystem. f_type is set by the
// kernel from the superblock; FUSE and other filesystems cannot claim
// PROC_SUPER_MAGIC.
func isProcfs(fd int) error {
	var sfs unix.Statfs_t
	if err := linux.RetryEINTR(func() error { return unix.Fstatfs(fd, &sfs) }); err != nil {
		return err
	}
	if sfs.Type != unix.PROC_SUPER_MAGIC {
		return unsafef("f_type %#x is not procfs", sfs.Type)
	}
	return nil
}

// newHandle verifies a candidate root fd of rung r and takes ownership of
// it: on error the fd is closed. A candidate must be procfs, be the root
// inode of its instance, and have a readable mount id; a candidate from a
// detached rung must really be detached (its ".." is itself, as for the root
// of a mount that has no parent).
func newHandle(fd int, r Rung) (_ *Handle, Err error) {
	defer func() {
		if Err != nil {
			_ = unix.Close(fd)
		}
	}()
	if err := isProcfs(fd); err != nil {
		return nil, err
	}
	mnt, ino, err := fdMountID(fd, fd)
	if err != nil {
		return nil, err
	}
	if ino != procRootIno {
		return nil, unsafef("inode %d is not the procfs root", ino)
	}
	h := &Handle{fd: fd, rung: r, mnt: mnt}
	if r.detachedKind() {
		up, upIno, err := pathMountID(fd, fd, "..")
		if err != nil {
			return nil, err
		}
		if !up.same(mnt) || upIno != procRootIno {
			return nil, unsafef("%s candidate is attached to a mount tree", r)
		}
		h.detached = true
	}
	h.subset, err = isSubset(fd)
	if err != nil {
		return nil, err
	}
	return h, nil
}

// isSubset reports whether the instance was mounted with subset=pid, which
// hides everything but the pid directories, self and thread-self: uptime
// exists in every full procfs.
func isSubset(fd int) (bool, error) {
	var st unix.Stat_t
	err := linux.RetryEINTR(func() error { return unix.Fstatat(fd, "uptime", &st, unix.AT_SYMLINK_NOFOLLOW) })
	switch {
	case err == nil:
		return false, nil
	case errors.Is(err, unix.ENOENT):
		return true, nil
	}
	return false, err
}

// revalidate checks that h.fd still is the procfs root it was built from.
// It reports stale when the fd was closed or now refers to something else
// (a caller closed every fd behind our back, as runc does before exec:
// runc#5437, libpathrs#413). Any other failure is returned as an error and
// the handle is left alone.
func (h *Handle) revalidate() (stale bool, err error) {
	if h.closed.Load() {
		return true, nil
	}
	if h.mnt.src != srcUnique {
		// Legacy ids can be reused once the mount is gone: also insist on
		// procfs, as the unique id would imply.
		if err := isProcfs(h.fd); err != nil {
			if errors.Is(err, ErrUnsafeProcfs) || errors.Is(err, unix.EBADF) {
				return true, nil
			}
			return false, err
		}
	}
	mnt, ino, err := fdMountID(h.fd, h.fd)
	switch {
	case errors.Is(err, unix.EBADF) || errors.Is(err, ErrUnsafeProcfs):
		return true, nil
	case err != nil:
		return false, err
	}
	return ino != procRootIno || !mnt.same(h.mnt), nil
}

// checkFd checks that fd, returned by a lookup through h, lies on h's mount.
func (h *Handle) checkFd(fd int) error {
	mnt, _, err := fdMountID(h.fd, fd)
	if err != nil {
		return err
	}
	if !mnt.same(h.mnt) {
		return unsafef("file is on mount %d, the %s handle on mount %d (something is mounted over it)",
			mnt.id, h.rung, h.mnt.id)
	}
	return nil
}
