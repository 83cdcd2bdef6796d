package linux

import (
	"golang.org/x/sys/unix"
)

// MountIDSource says where a mount id came from.
type MountIDSource int

const (
	// MountIDNone means the kernel gave no mount id through statx.
	MountIDNone MountIDSource = iota
	// MountIDUnique is STATX_MNT_ID_UNIQUE (Linux 6.8): never recycled.
	MountIDUnique
	// MountIDLegacy is STATX_MNT_ID (Linux 5.8): stable while the fd is held.
	MountIDLegacy
)

// StatxMountID returns the mount id of path relative to dirfd (use "" with
// AT_EMPTY_PATH for the fd itself) and the inode number, asking for
// STATX_MNT_ID_UNIQUE and falling back to STATX_MNT_ID. It never follows a
// final symlink and never triggers an automount. MountIDNone with a nil error
// means the kernel returned neither mask bit; the caller must then use the
// fdinfo fallback.
func StatxMountID(dirfd int, path string, flags int) (id uint64, ino uint64, src MountIDSource, err error) {
	var stx unix.Statx_t
	flags |= unix.AT_SYMLINK_NOFOLLOW | unix.AT_NO_AUTOMOUNT
	err = RetryEINTR(func() error {
		return unix.Statx(dirfd, path, flags, unix.STATX_INO|unix.STATX_MNT_ID|unix.STATX_MNT_ID_UNIQUE, &stx)
	})
	if err != nil {
		return 0, 0, MountIDNone, err
	}
	switch {
	case stx.Mask&unix.STATX_MNT_ID_UNIQUE != 0:
		return stx.Mnt_id, stx.Ino, MountIDUnique, nil
	case stx.Mask&unix.STATX_MNT_ID != 0:
		return stx.Mnt_id, stx.Ino, MountIDLegacy, nil
	default:
		return 0, stx.Ino, MountIDNone, nil
	}
}
