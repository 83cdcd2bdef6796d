package linux

import (
	"errors"

	"golang.org/x/sys/unix"
)

// ErrInodeChanged means OpenatInode opened a different inode than the one
// expected: the name was swapped between a check and the open.
var ErrInodeChanged = errors.New("linux: the name now refers to another inode")

// OpenatInode opens name in dirfd with flags and checks that the result is
// the inode (dev, ino): the way to act on something that was checked
// before, without trusting that the name still means the same thing.
func OpenatInode(dirfd int, name string, flags int, dev, ino uint64) (int, error) {
	fd, err := Openat(dirfd, name, flags, 0)
	if err != nil {
		return -1, err
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		_ = unix.Close(fd)
		return -1, err
	}
	if st.Dev != dev || st.Ino != ino {
		_ = unix.Close(fd)
		return -1, ErrInodeChanged
	}
	return fd, nil
}
