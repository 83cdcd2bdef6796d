package pathrs

import (
	"errors"
	"time"

	"golang.org/x/sys/unix"

	"github.com/safeunpack/safeunpack/internal/linux"
	"github.com/safeunpack/safeunpack/procfs"
)

// Test seam: pretend fchmodat2(2) is missing, to exercise the procfs path.
var testHasFchmodat2 = linux.HasFchmodat2

// lchownAt is fchownat(2) with AT_SYMLINK_NOFOLLOW; name "" is dirfd itself
// (AT_EMPTY_PATH, which works on O_PATH descriptors).
func lchownAt(dirfd int, name string, uid, gid int) error {
	return linux.RetryEINTR(func() error {
		return unix.Fchownat(dirfd, name, uid, gid, selfFlags(name, unix.AT_SYMLINK_NOFOLLOW))
	})
}

// chmodAt changes the mode of dirfd/name (name "" is dirfd itself) without
// following a final symlink; a symlink is left alone, since Linux has no
// symlink modes. It uses fchmodat2(2) (Linux 6.6) and otherwise a procfs
// magic-link path through the verified handle; it never calls fchmodat(2)
// on a name, which would follow a symlink swapped in at the last moment
// (CVE-2021-41089).
func chmodAt(dirfd int, name string, mode uint32) error {
	if mode&^permBits != 0 {
		return ErrInvalidMode
	}
	if testHasFchmodat2() {
		err := linux.Fchmodat2(dirfd, name, mode, selfFlags(name, unix.AT_SYMLINK_NOFOLLOW))
		if errors.Is(err, unix.EOPNOTSUPP) && isSymlinkAt(dirfd, name) {
			return nil
		}
		return err
	}
	fd, err := openPathAt(dirfd, name)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return err
	}
	if st.Mode&unix.S_IFMT == unix.S_IFLNK {
		return nil
	}
	return chmodViaProcfs(fd, mode)
}

// openPathAt returns an O_PATH|O_NOFOLLOW descriptor of dirfd/name, or a
// duplicate of dirfd for "".
func openPathAt(dirfd int, name string) (int, error) {
	if name == "" {
		return linux.RetryEINTR2(func() (int, error) { return unix.FcntlInt(uintptr(dirfd), unix.F_DUPFD_CLOEXEC, 0) })
	}
	return linux.Openat(dirfd, name, unix.O_PATH|unix.O_NOFOLLOW, 0)
}

func isSymlinkAt(dirfd int, name string) bool {
	var st unix.Stat_t
	err := unix.Fstatat(dirfd, name, &st, selfFlags(name, unix.AT_SYMLINK_NOFOLLOW))
	return err == nil && st.Mode&unix.S_IFMT == unix.S_IFLNK
}

// chmodViaProcfs changes the mode of the inode of the O_PATH descriptor fd
// through /proc/thread-self/fd/N, reached with the verified procfs handle
// (see [procfs.ChmodFd]: the magic link must be genuine).
var chmodViaProcfs = procfs.ChmodFd

// timespec converts a time for utimensat(2); the zero time leaves the
// timestamp unchanged (UTIME_OMIT).
func timespec(t time.Time) unix.Timespec {
	if t.IsZero() {
		return unix.Timespec{Nsec: unix.UTIME_OMIT}
	}
	// Seconds and nanoseconds separately: UnixNano overflows outside the
	// years 1678 to 2262, and tar headers can carry any time.
	return unix.Timespec{Sec: t.Unix(), Nsec: int64(t.Nanosecond())}
}

// utimesAt sets access and modification times with nanoseconds on dirfd/name
// without following it (symlinks included); name "" is dirfd itself.
func utimesAt(dirfd int, name string, atime, mtime time.Time) error {
	ts := []unix.Timespec{timespec(atime), timespec(mtime)}
	return linux.RetryEINTR(func() error {
		return unix.UtimesNanoAt(dirfd, name, ts, selfFlags(name, unix.AT_SYMLINK_NOFOLLOW))
	})
}

// Lchown changes the owner of name ("" is the directory itself) without
// following it: fchownat(2) with AT_SYMLINK_NOFOLLOW. -1 leaves an id
// unchanged. Like chown(2) it clears setuid and setgid on non-directories,
// so apply modes after owners.
func (d *Dir) Lchown(name string, uid, gid int) error {
	if err := checkName(name, true); err != nil {
		return d.pathErr("fchownat", name, err)
	}
	if err := d.fd.use(func(fd int) error { return lchownAt(fd, name, uid, gid) }); err != nil {
		return d.pathErr("fchownat", name, err)
	}
	return nil
}

// Chmod sets the mode (permission, setuid, setgid and sticky bits) of name
// ("" is the directory itself) without following it. Symlinks have no mode
// and are left alone.
func (d *Dir) Chmod(name string, mode uint32) error {
	if err := checkName(name, true); err != nil {
		return d.pathErr("fchmodat2", name, err)
	}
	if err := d.fd.use(func(fd int) error { return chmodAt(fd, name, mode) }); err != nil {
		return d.pathErr("fchmodat2", name, err)
	}
	return nil
}

// Utimes sets the access and modification times of name ("" is the
// directory itself) with nanosecond precision, symlinks included, never
// following. A zero time leaves that timestamp unchanged.
func (d *Dir) Utimes(name string, atime, mtime time.Time) error {
	if err := checkName(name, true); err != nil {
		return d.pathErr("utimensat", name, err)
	}
	if err := d.fd.use(func(fd int) error { return utimesAt(fd, name, atime, mtime) }); err != nil {
		return d.pathErr("utimensat", name, err)
	}
	return nil
}

// Lchown changes the owner of the handle's inode (never a symlink's target).
func (h *Handle) Lchown(uid, gid int) error {
	if err := h.fd.use(func(fd int) error { return lchownAt(fd, "", uid, gid) }); err != nil {
		return h.pathErr("fchownat", err)
	}
	return nil
}

// Chmod sets the mode of the handle's inode; a symlink handle is left alone.
func (h *Handle) Chmod(mode uint32) error {
	if err := h.fd.use(func(fd int) error { return chmodAt(fd, "", mode) }); err != nil {
		return h.pathErr("fchmodat2", err)
	}
	return nil
}

// Utimes sets the handle's times with nanoseconds, symlinks included.
func (h *Handle) Utimes(atime, mtime time.Time) error {
	if err := h.fd.use(func(fd int) error { return utimesAt(fd, "", atime, mtime) }); err != nil {
		return h.pathErr("utimensat", err)
	}
	return nil
}
