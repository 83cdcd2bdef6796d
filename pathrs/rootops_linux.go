package pathrs

import (
	"os"
	"path"
	"time"

	"golang.org/x/sys/unix"
)

// Path-based operations on a Root. Each resolves unsafePath once (its parent
// for creating and removing operations, the path itself without following
// a final symlink for metadata) and then does one descriptor-based system
// call. Errors are *os.PathError with the untrusted path as Path.

func pathErr(op, unsafePath string, err error) error {
	return &os.PathError{Op: op, Path: unsafePath, Err: err}
}

// cleanName is the lexical form of an untrusted path, for messages.
func cleanName(unsafePath string) string { return path.Clean("/" + unsafePath) }

// Resolve resolves unsafePath inside the root, following symlinks
// (including a final one) with RESOLVE_IN_ROOT semantics, and returns an
// O_PATH [Handle]. Effectively it is
//
//	os.Open(filepath.Join(root, unsafePath))
//
// but a symlink or ".." can never lead outside the root: absolute targets
// and ".." are resolved as if the root were "/", magic links (/proc/self/fd
// style) are refused with ELOOP, and at most 40 symlinks are followed.
func (r *Root) Resolve(unsafePath string) (*Handle, error) {
	fd, err := r.openInRoot(unsafePath, unix.O_PATH)
	if err != nil {
		return nil, pathErr("openat2", unsafePath, err)
	}
	return newHandle(r, fd, cleanName(unsafePath)), nil
}

// ResolveNoFollow is [Root.Resolve] without following a final symlink (a
// trailing slash still follows it, as the kernel does).
func (r *Root) ResolveNoFollow(unsafePath string) (*Handle, error) {
	fd, err := r.openInRoot(unsafePath, unix.O_PATH|unix.O_NOFOLLOW)
	if err != nil {
		return nil, pathErr("openat2", unsafePath, err)
	}
	return newHandle(r, fd, cleanName(unsafePath)), nil
}

// Open resolves unsafePath like [Root.Resolve] and opens it with flags in
// one step (one openat2(2) call on the default backend). O_NOFOLLOW makes a
// final symlink fail with ELOOP (or, with O_PATH, return the link itself).
// O_CREAT and O_TMPFILE are refused: use [Root.CreateFile].
func (r *Root) Open(unsafePath string, flags int) (*os.File, error) {
	if createsSomething(flags) {
		return nil, pathErr("openat2", unsafePath, unix.EINVAL)
	}
	fd, err := r.openInRoot(unsafePath, flags)
	if err != nil {
		return nil, pathErr("openat2", unsafePath, err)
	}
	return os.NewFile(uintptr(fd), cleanName(unsafePath)), nil
}

// OpenDir resolves unsafePath like [Root.Resolve] to a directory.
func (r *Root) OpenDir(unsafePath string) (*Dir, error) {
	fd, err := r.openInRoot(unsafePath, unix.O_PATH|unix.O_DIRECTORY)
	if err != nil {
		return nil, pathErr("openat2", unsafePath, err)
	}
	return newDir(r, fd, cleanName(unsafePath)), nil
}

// ResolveParent resolves the parent directory of unsafePath (following
// symlinks inside the root) and returns it with the final component, for
// callers that apply several operations to one name. Trailing slashes are
// dropped. A path naming the root ("", "/") is [ErrRootIsNotAllowed]; a
// final component "." or ".." is [ErrInvalidName]: neither has a parent
// and a name to act on.
func (r *Root) ResolveParent(unsafePath string) (*Dir, string, error) {
	d, name, _, err := r.resolveParentSlash(unsafePath)
	if err != nil {
		return nil, "", pathErr("openat2", unsafePath, err)
	}
	return d, name, nil
}

// resolveParent is ResolveParent returning bare errors and refusing a
// trailing slash (used for hardlink targets).
func (r *Root) resolveParent(unsafePath string) (*Dir, string, error) {
	d, name, trailing, err := r.resolveParentSlash(unsafePath)
	if err != nil {
		return nil, "", err
	}
	if trailing {
		_ = d.Close()
		return nil, "", unix.EINVAL
	}
	return d, name, nil
}

func (r *Root) resolveParentSlash(unsafePath string) (*Dir, string, bool, error) {
	if hasNUL(unsafePath) {
		return nil, "", false, unix.EINVAL
	}
	parent, name, trailing := splitParent(unsafePath)
	switch name {
	case "":
		return nil, "", false, ErrRootIsNotAllowed
	case ".", "..":
		return nil, "", false, ErrInvalidName
	}
	fd, err := r.openInRoot(parent, unix.O_PATH|unix.O_DIRECTORY)
	if err != nil {
		return nil, "", false, err
	}
	return newDir(r, fd, cleanName(parent)), name, trailing, nil
}

// withParent resolves the parent of unsafePath and runs fn on it. Unless
// slashOK, a trailing slash is EINVAL (only directories may have one).
func (r *Root) withParent(op, unsafePath string, slashOK bool, fn func(d *Dir, name string) error) error {
	d, name, trailing, err := r.resolveParentSlash(unsafePath)
	if err != nil {
		return pathErr(op, unsafePath, err)
	}
	defer d.Close()
	if trailing && !slashOK {
		return pathErr(op, unsafePath, unix.EINVAL)
	}
	return fn(d, name)
}

// withHandle resolves unsafePath without following a final symlink and runs
// fn on the handle.
func (r *Root) withHandle(unsafePath string, fn func(h *Handle) error) error {
	h, err := r.ResolveNoFollow(unsafePath)
	if err != nil {
		return err
	}
	defer h.Close()
	return fn(h)
}

// CreateFile creates a new regular file at unsafePath: [Dir.CreateFile] in
// the resolved parent.
func (r *Root) CreateFile(unsafePath string, flags int, mode uint32) (*os.File, error) {
	var f *os.File
	err := r.withParent("openat", unsafePath, false, func(d *Dir, name string) error {
		var err error
		f, err = d.CreateFile(name, flags, mode)
		return err
	})
	return f, err
}

// Mkdir creates one directory: [Dir.Mkdir] in the resolved parent.
func (r *Root) Mkdir(unsafePath string, mode uint32) error {
	return r.withParent("mkdirat", unsafePath, true, func(d *Dir, name string) error {
		return d.Mkdir(name, mode)
	})
}

// Mknod creates a device or FIFO: [Dir.Mknod] in the resolved parent.
func (r *Root) Mknod(unsafePath string, mode uint32, dev uint64) error {
	return r.withParent("mknodat", unsafePath, false, func(d *Dir, name string) error {
		return d.Mknod(name, mode, dev)
	})
}

// Symlink creates unsafePath pointing at unsafeLinkname (stored verbatim):
// [Dir.Symlink] in the resolved parent.
func (r *Root) Symlink(unsafeLinkname, unsafePath string) error {
	return r.withParent("symlinkat", unsafePath, false, func(d *Dir, name string) error {
		return d.Symlink(unsafeLinkname, name)
	})
}

// Hardlink creates unsafePath as a hard link to unsafeTarget, both resolved
// in this root: [Dir.Hardlink] in the resolved parent.
func (r *Root) Hardlink(unsafePath, unsafeTarget string) error {
	return r.withParent("linkat", unsafePath, false, func(d *Dir, name string) error {
		return d.Hardlink(name, unsafeTarget)
	})
}

// Rename renames unsafeOld to unsafeNew (both resolved in this root, final
// components not followed) with renameat2(2) flags.
func (r *Root) Rename(unsafeOld, unsafeNew string, flags uint) error {
	return r.withParent("renameat2", unsafeOld, true, func(od *Dir, oname string) error {
		return r.withParent("renameat2", unsafeNew, true, func(nd *Dir, nname string) error {
			return od.Rename(oname, nd, nname, flags)
		})
	})
}

// Remove removes unsafePath (a file, symlink or empty directory) without
// following it. With a trailing slash it must be a directory.
func (r *Root) Remove(unsafePath string) error {
	d, name, trailing, err := r.resolveParentSlash(unsafePath)
	if err != nil {
		return pathErr("unlinkat", unsafePath, err)
	}
	defer d.Close()
	if !trailing {
		return d.Remove(name)
	}
	err = d.fd.use(func(fd int) error { return unix.Unlinkat(fd, name, unix.AT_REMOVEDIR) })
	if err != nil {
		return pathErr("unlinkat", unsafePath, err)
	}
	return nil
}

// RemoveAll removes unsafePath and everything below it: [Dir.RemoveAll] in
// the resolved parent. The root itself cannot be removed.
func (r *Root) RemoveAll(unsafePath string) error {
	return r.withParent("unlinkat", unsafePath, true, func(d *Dir, name string) error {
		return d.RemoveAll(name)
	})
}

// Readlink returns the target of the symlink unsafePath, verbatim; EINVAL
// if it is not a symlink.
func (r *Root) Readlink(unsafePath string) (string, error) {
	var target string
	err := r.withHandle(unsafePath, func(h *Handle) error {
		var err error
		target, err = useFd(h.fd, func(fd int) (string, error) { return readlinkFd(fd, "") })
		if err == unix.ENOENT {
			err = unix.EINVAL // readlinkat(fd, "") on a non-symlink
		}
		if err != nil {
			return pathErr("readlinkat", unsafePath, err)
		}
		return nil
	})
	return target, err
}

// Lstat returns the metadata of unsafePath without following a final
// symlink.
func (r *Root) Lstat(unsafePath string) (unix.Stat_t, error) {
	var st unix.Stat_t
	err := r.withHandle(unsafePath, func(h *Handle) error {
		var err error
		st, err = h.Stat()
		return err
	})
	return st, err
}

// Lchown is [Handle.Lchown] on unsafePath resolved without following.
func (r *Root) Lchown(unsafePath string, uid, gid int) error {
	return r.withHandle(unsafePath, func(h *Handle) error { return h.Lchown(uid, gid) })
}

// Chmod is [Handle.Chmod] on unsafePath resolved without following.
func (r *Root) Chmod(unsafePath string, mode uint32) error {
	return r.withHandle(unsafePath, func(h *Handle) error { return h.Chmod(mode) })
}

// Utimes is [Handle.Utimes] on unsafePath resolved without following.
func (r *Root) Utimes(unsafePath string, atime, mtime time.Time) error {
	return r.withHandle(unsafePath, func(h *Handle) error { return h.Utimes(atime, mtime) })
}

// Lsetxattr sets attr on unsafePath without following a final symlink.
func (r *Root) Lsetxattr(unsafePath, attr string, value []byte, flags int) error {
	return r.withParentOrRoot(unsafePath, func(d *Dir, name string) error {
		return d.Lsetxattr(name, attr, value, flags)
	})
}

// Lgetxattr reads attr of unsafePath without following a final symlink.
func (r *Root) Lgetxattr(unsafePath, attr string) ([]byte, error) {
	var v []byte
	err := r.withParentOrRoot(unsafePath, func(d *Dir, name string) error {
		var err error
		v, err = d.Lgetxattr(name, attr)
		return err
	})
	return v, err
}

// Llistxattr lists the xattrs of unsafePath without following a final
// symlink.
func (r *Root) Llistxattr(unsafePath string) ([]string, error) {
	var v []string
	err := r.withParentOrRoot(unsafePath, func(d *Dir, name string) error {
		var err error
		v, err = d.Llistxattr(name)
		return err
	})
	return v, err
}

// Lremovexattr removes attr from unsafePath without following a final
// symlink.
func (r *Root) Lremovexattr(unsafePath, attr string) error {
	return r.withParentOrRoot(unsafePath, func(d *Dir, name string) error {
		return d.Lremovexattr(name, attr)
	})
}

// withParentOrRoot is withParent, except that a path naming the root runs
// fn on the root's Dir with name "" (xattrs of the root itself are fine),
// and "." or ".." as the last component resolve to that directory.
func (r *Root) withParentOrRoot(unsafePath string, fn func(d *Dir, name string) error) error {
	_, name, trailing := splitParent(unsafePath)
	if name == "" || name == "." || name == ".." || trailing {
		// A trailing slash follows a final symlink and requires a
		// directory, as in the kernel.
		d, err := r.OpenDir(unsafePath)
		if err != nil {
			return err
		}
		defer d.Close()
		return fn(d, "")
	}
	return r.withParent("xattr", unsafePath, true, fn)
}
