package procfs

import (
	"fmt"

	"golang.org/x/sys/unix"

	"github.com/safeunpack/safeunpack/internal/linux"
)

var (
	// ErrUnsafeProcfs means a procfs handle, or a file reached through one,
	// is not the genuine, un-overmounted procfs file that was asked for: the
	// candidate root is not procfs or not its root inode, a file lies on a
	// different mount than the handle (something is mounted over it or over
	// a directory above it), a symlink inside procfs points somewhere a
	// procfs lookup must never go, or fdinfo contradicts fstat. It matches
	// errors.Is(err, unix.EXDEV), the errno openat2(2) gives for a mount
	// crossing under RESOLVE_NO_XDEV.
	ErrUnsafeProcfs error = linux.NewSentinel("procfs: unsafe procfs", unix.EXDEV)

	// ErrInvalidIDMap means a uid_map or gid_map did not parse as the
	// kernel writes it, or described ranges that are empty, overflow 32
	// bits or overlap. It matches errors.Is(err, unix.EINVAL).
	ErrInvalidIDMap error = linux.NewSentinel("procfs: invalid id map", unix.EINVAL)
)

// unsafef returns an error wrapping [ErrUnsafeProcfs] with a reason.
func unsafef(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrUnsafeProcfs}, args...)...)
}
