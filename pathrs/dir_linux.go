package pathrs

import (
	"os"

	"golang.org/x/sys/unix"

	"github.com/safeunpack/safeunpack/internal/linux"
)

// Dir is a directory inside a [Root], held as an O_PATH|O_DIRECTORY
// descriptor, on which operations act on single-component names with one
// *at(2) system call each. It is what an extractor resolves once and then
// applies many tar entries in.
//
// Guarantees, under the threat model of the package (an attacker who can
// rename, swap, create and delete anything inside the root, but nothing
// outside it):
//   - The descriptor was obtained by in-root resolution, so it refers to a
//     directory inside the root. If the attacker later renames that
//     directory elsewhere inside the root, the Dir follows the inode: new
//     entries land where the directory now is, which is still inside the
//     root. Only an attacker who can move it outside the root (out of scope)
//     could make a Dir point outside.
//   - No operation ever follows the final name: creation uses O_EXCL or
//     fails with EEXIST, metadata uses AT_SYMLINK_NOFOLLOW or fchmodat2,
//     removal is unlinkat. A name swapped for a symlink between two calls
//     makes the second call act on the symlink itself, never its target.
//   - Names must be one component: not empty (except where documented to
//     mean the directory itself), not "." or "..", no '/', no NUL;
//     otherwise [ErrInvalidName].
//
// Not guaranteed: that the entry a caller created a moment ago is still the
// same inode when it acts on it again by name (the attacker may swap it for
// another inode inside the root). Callers that care keep the descriptor
// returned by [Dir.CreateFile] or use [Dir.OpenHandle].
//
// A Dir is safe for concurrent use; Close may be called many times.
type Dir struct {
	fd   *fdRef
	root *Root
	name string
}

func newDir(root *Root, fd int, name string) *Dir {
	return &Dir{fd: newFdRef(fd), root: root, name: name}
}

// Name returns the in-root path the Dir was resolved from, for messages
// only: the directory may have been renamed since.
func (d *Dir) Name() string { return d.name }

// Close releases the directory handle. It may be called many times.
func (d *Dir) Close() error { return d.fd.close() }

func (d *Dir) pathErr(op, name string, err error) error {
	return &os.PathError{Op: op, Path: joinName(d.name, name), Err: err}
}

// checkName validates a single-component name; allowSelf accepts "" as the
// directory itself.
func checkName(name string, allowSelf bool) error {
	if name == "" && allowSelf {
		return nil
	}
	if !validName(name) {
		return ErrInvalidName
	}
	return nil
}

// selfFlags turns "" into AT_EMPTY_PATH for *at calls on the directory.
func selfFlags(name string, flags int) int {
	if name == "" {
		return flags | unix.AT_EMPTY_PATH
	}
	return flags
}

// Stat is fstat(2) of the directory.
func (d *Dir) Stat() (unix.Stat_t, error) { return d.Lstat("") }

// Lstat stats name without following it; "" is the directory itself.
func (d *Dir) Lstat(name string) (unix.Stat_t, error) {
	var st unix.Stat_t
	if err := checkName(name, true); err != nil {
		return st, d.pathErr("fstatat", name, err)
	}
	err := d.fd.use(func(fd int) error {
		return linux.RetryEINTR(func() error {
			return unix.Fstatat(fd, name, &st, selfFlags(name, unix.AT_SYMLINK_NOFOLLOW))
		})
	})
	if err != nil {
		return st, d.pathErr("fstatat", name, err)
	}
	return st, nil
}

// OpenDir opens the child directory name. A symlink is never followed: it
// fails with ENOTDIR, as does any non-directory.
func (d *Dir) OpenDir(name string) (*Dir, error) {
	if err := checkName(name, false); err != nil {
		return nil, d.pathErr("openat", name, err)
	}
	fd, err := useFd(d.fd, func(dirfd int) (int, error) {
		return linux.Openat(dirfd, name, unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW, 0)
	})
	if err != nil {
		return nil, d.pathErr("openat", name, err)
	}
	return newDir(d.root, fd, joinName(d.name, name)), nil
}

// OpenHandle returns an O_PATH handle to the child name itself (a symlink
// is not followed).
func (d *Dir) OpenHandle(name string) (*Handle, error) {
	if err := checkName(name, false); err != nil {
		return nil, d.pathErr("openat", name, err)
	}
	fd, err := useFd(d.fd, func(dirfd int) (int, error) {
		return linux.Openat(dirfd, name, unix.O_PATH|unix.O_NOFOLLOW, 0)
	})
	if err != nil {
		return nil, d.pathErr("openat", name, err)
	}
	return newHandle(d.root, fd, joinName(d.name, name)), nil
}

// Open opens the child name with flags plus O_NOFOLLOW|O_CLOEXEC (and
// O_NOCTTY unless O_PATH). O_CREAT is refused: use [Dir.CreateFile].
// Opening a FIFO or device has the side effects open(2) has; callers that
// only want metadata use [Dir.OpenHandle].
func (d *Dir) Open(name string, flags int) (*os.File, error) {
	if err := checkName(name, false); err != nil {
		return nil, d.pathErr("openat", name, err)
	}
	if createsSomething(flags) {
		return nil, d.pathErr("openat", name, unix.EINVAL)
	}
	flags |= unix.O_NOFOLLOW
	if flags&unix.O_PATH == 0 {
		flags |= unix.O_NOCTTY
	}
	fd, err := useFd(d.fd, func(dirfd int) (int, error) { return linux.Openat(dirfd, name, flags, 0) })
	if err != nil {
		return nil, d.pathErr("openat", name, err)
	}
	return os.NewFile(uintptr(fd), joinName(d.name, name)), nil
}

// Readlink returns the target of the symlink name, verbatim. The target is
// untrusted: never resolve it outside a Root.
func (d *Dir) Readlink(name string) (string, error) {
	if err := checkName(name, false); err != nil {
		return "", d.pathErr("readlinkat", name, err)
	}
	target, err := useFd(d.fd, func(fd int) (string, error) { return readlinkFd(fd, name) })
	if err != nil {
		return "", d.pathErr("readlinkat", name, err)
	}
	return target, nil
}

// maxReadlink bounds the buffer of readlinkat(2): a symlink target is at
// most PATH_MAX bytes on every Linux filesystem; we allow some slack and
// report ENAMETOOLONG past it instead of growing without end.
const maxReadlink = 64 << 10

func readlinkFd(dirfd int, name string) (string, error) {
	for size := 256; ; size *= 4 {
		buf := make([]byte, size)
		n, err := linux.RetryEINTR2(func() (int, error) { return unix.Readlinkat(dirfd, name, buf) })
		if err != nil {
			return "", err
		}
		if n < size {
			return string(buf[:n]), nil
		}
		if size >= maxReadlink {
			return "", unix.ENAMETOOLONG
		}
	}
}

// openSelfReadable opens the directory itself for reading (getdents, the
// f*xattr calls), from the O_PATH descriptor.
func (d *Dir) openSelfReadable() (int, error) {
	return useFd(d.fd, func(fd int) (int, error) {
		return linux.Openat(fd, ".", unix.O_RDONLY|unix.O_DIRECTORY, 0)
	})
}

// direntBufSize is the getdents(2) buffer: large enough that most
// directories are read in one call.
const direntBufSize = 32 << 10

// ReadDirNames returns the names in the directory, without "." and "..".
// With limit > 0 it fails with [ErrTooManyEntries] past limit names, so a
// hostile directory cannot make it allocate without bound.
func (d *Dir) ReadDirNames(limit int) ([]string, error) {
	fd, err := d.openSelfReadable()
	if err != nil {
		return nil, d.pathErr("open", "", err)
	}
	defer unix.Close(fd)
	names, err := readNames(fd, limit)
	if err != nil {
		return nil, d.pathErr("getdents", "", err)
	}
	return names, nil
}

func readNames(fd int, limit int) ([]string, error) {
	buf := make([]byte, direntBufSize)
	var names []string
	for {
		n, err := linux.RetryEINTR2(func() (int, error) { return unix.Getdents(fd, buf) })
		if err != nil {
			return nil, err
		}
		if n <= 0 {
			return names, nil
		}
		_, _, names = unix.ParseDirent(buf[:n], -1, names)
		if limit > 0 && len(names) > limit {
			return nil, ErrTooManyEntries
		}
	}
}

// IsEmpty reports whether the directory has no entries besides "." and "..".
func (d *Dir) IsEmpty() (bool, error) {
	fd, err := d.openSelfReadable()
	if err != nil {
		return false, d.pathErr("open", "", err)
	}
	defer unix.Close(fd)
	buf := make([]byte, 4096)
	for {
		n, err := linux.RetryEINTR2(func() (int, error) { return unix.Getdents(fd, buf) })
		if err != nil {
			return false, d.pathErr("getdents", "", err)
		}
		if n <= 0 {
			return true, nil
		}
		if _, count, _ := unix.ParseDirent(buf[:n], 1, nil); count > 0 {
			return false, nil
		}
	}
}
