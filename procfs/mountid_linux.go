package procfs

import (
	"errors"

	"golang.org/x/sys/unix"

	"github.com/safeunpack/safeunpack/internal/linux"
)

// statxMountID is the mount-id source of every check; a test seam so that
// tests can hide the statx mount id and exercise the fdinfo fallback.
var statxMountID = linux.StatxMountID

// idSource says which kernel interface produced a mount id.
type idSource uint8

const (
	// srcUnique is STATX_MNT_ID_UNIQUE (Linux 6.8): never reused while the
	// system runs, so one equal id proves the same mount.
	srcUnique idSource = iota + 1
	// srcLegacy is STATX_MNT_ID (Linux 5.8): reused after a mount goes
	// away, which cannot happen to a mount we hold an fd on.
	srcLegacy
	// srcFdinfo is the mnt_id line of fdinfo: the legacy id, read through
	// procfs (kernels before 5.8).
	srcFdinfo
)

// String names the source for logs.
func (s idSource) String() string {
	switch s {
	case srcUnique:
		return "statx_mnt_id_unique"
	case srcLegacy:
		return "statx_mnt_id"
	case srcFdinfo:
		return "fdinfo"
	}
	return "unknown"
}

// mountID is a mount id together with its source.
type mountID struct {
	id  uint64
	src idSource
}

// same reports whether a and b name the same mount. Unique and legacy ids
// are different number spaces; fdinfo gives the legacy id.
func (a mountID) same(b mountID) bool {
	return a.id == b.id && (a.src == srcUnique) == (b.src == srcUnique)
}

// fdMountID returns the mount id and inode number of fd. procRoot is a
// procfs root whose fdinfo is read when statx gives no mount id.
func fdMountID(procRoot, fd int) (mountID, uint64, error) {
	id, ino, src, err := statxMountID(fd, "", unix.AT_EMPTY_PATH)
	switch {
	case err == nil && src == linux.MountIDUnique:
		return mountID{id, srcUnique}, ino, nil
	case err == nil && src == linux.MountIDLegacy:
		return mountID{id, srcLegacy}, ino, nil
	case err == nil:
		// statx works but knows no mount id (kernel < 5.8).
	case errors.Is(err, unix.ENOSYS) || errors.Is(err, unix.EINVAL):
		// No statx at all (kernel < 4.11, or filtered): fstat for the inode.
		var st unix.Stat_t
		if err := linux.RetryEINTR(func() error { return unix.Fstat(fd, &st) }); err != nil {
			return mountID{}, 0, err
		}
		ino = st.Ino
	default:
		return mountID{}, 0, err
	}
	mnt, err := fdinfoMountID(procRoot, fd, ino)
	return mnt, ino, err
}

// pathMountID is fdMountID for name inside dirfd, without following a final
// symlink (so for a magic link it is the link's own mount).
func pathMountID(procRoot, dirfd int, name string) (mountID, uint64, error) {
	id, ino, src, err := statxMountID(dirfd, name, 0)
	switch {
	case err == nil && src == linux.MountIDUnique:
		return mountID{id, srcUnique}, ino, nil
	case err == nil && src == linux.MountIDLegacy:
		return mountID{id, srcLegacy}, ino, nil
	case err == nil, errors.Is(err, unix.ENOSYS), errors.Is(err, unix.EINVAL):
	default:
		return mountID{}, 0, err
	}
	fd, err := linux.Openat(dirfd, name, unix.O_PATH|unix.O_NOFOLLOW, 0)
	if err != nil {
		return mountID{}, 0, err
	}
	defer unix.Close(fd) //nolint:errcheck // O_PATH fd, nothing to flush
	return fdMountID(procRoot, fd)
}
