package pathrs

import (
	"errors"
	"os"
	"path"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/safeunpack/safeunpack/internal/linux"
)

// MkdirAll creates the directory unsafePath and any missing parents inside
// the root and returns a [Dir] for it. Effectively it is
//
//	os.MkdirAll(filepath.Join(root, unsafePath), mode)
//
// but resolved with in-root semantics: the existing part of the path is
// resolved like [Root.Resolve] (symlinks followed inside the root), and each
// missing directory is created with mkdirat(2) in its parent's descriptor
// and opened O_DIRECTORY|O_NOFOLLOW, so at no point does the walk leave the
// tree, and a symlink swapped in for a directory we just created makes the
// call fail instead of redirecting it.
//
// It tolerates concurrent creators (EEXIST on a directory is success: all
// callers share the winner's directory). It never creates through a
// dangling symlink (the symlink is found where a directory should be, and
// the call fails with ENOTDIR). A ".." in the part that does not exist yet
// is ENOENT: whether it means what it says depends on directories that do
// not exist. mode holds permission bits and the sticky bit; setuid and
// setgid are [ErrInvalidMode] because mkdirat(2) ignores them silently. The
// mode is subject to the umask. Directories created before an error stay.
func (r *Root) MkdirAll(unsafePath string, mode uint32) (*Dir, error) {
	d, err := r.mkdirAll(unsafePath, mode)
	if err != nil {
		return nil, &os.PathError{Op: "mkdirall", Path: unsafePath, Err: err}
	}
	return d, nil
}

func (r *Root) mkdirAll(unsafePath string, mode uint32) (*Dir, error) {
	if mode&^permBits != 0 || mode&(unix.S_ISUID|unix.S_ISGID) != 0 {
		return nil, ErrInvalidMode
	}
	if hasNUL(unsafePath) {
		return nil, unix.EINVAL
	}
	var parts []string
	for _, p := range strings.Split(unsafePath, "/") {
		if p != "" {
			parts = append(parts, p)
		}
	}
	// Longest existing prefix, from the full path down (the common case is
	// that most of it exists).
	cur, i := -1, len(parts)
	for ; i >= 0; i-- {
		fd, err := r.openInRoot(strings.Join(parts[:i], "/"), unix.O_PATH|unix.O_DIRECTORY)
		if err == nil {
			cur = fd
			break
		}
		if !errors.Is(err, unix.ENOENT) {
			return nil, err
		}
	}
	if cur < 0 {
		return nil, unix.ENOENT // even the root is gone
	}
	for _, p := range parts[i:] {
		if p == ".." {
			_ = unix.Close(cur)
			return nil, unix.ENOENT
		}
	}
	for _, p := range parts[i:] {
		if p == "." {
			continue
		}
		err := linux.RetryEINTR(func() error { return unix.Mkdirat(cur, p, mode) })
		if err != nil && !errors.Is(err, unix.EEXIST) {
			_ = unix.Close(cur)
			return nil, err
		}
		next, err := linux.Openat(cur, p, unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW, 0)
		_ = unix.Close(cur)
		if err != nil {
			return nil, err
		}
		cur = next
	}
	return newDir(r, cur, path.Clean("/"+unsafePath)), nil
}
