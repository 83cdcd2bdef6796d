package pathrs

import (
	"os"

	"golang.org/x/sys/unix"

	"github.com/safeunpack/safeunpack/internal/linux"
)

// permBits are the mode bits creation calls accept besides the file type.
const permBits = 0o7777

// CreateFile creates the regular file name and returns it open with flags
// (O_WRONLY or O_RDWR for writing). It always adds
// O_CREAT|O_EXCL|O_NOFOLLOW|O_CLOEXEC|O_NOCTTY: an existing entry of any
// kind, a symlink included, fails with EEXIST and is never opened,
// truncated or followed. Effectively it is
//
//	os.OpenFile(filepath.Join(root, dir, name), os.O_CREATE|os.O_EXCL|..., mode)
//
// but without re-resolving the directory, so a concurrent swap of any
// parent for a symlink cannot redirect the create.
//
// mode is subject to the umask, as with open(2); apply the exact mode to
// the returned file with fchmod.
func (d *Dir) CreateFile(name string, flags int, mode uint32) (*os.File, error) {
	fd, err := d.CreateFd(name, flags, mode)
	if err != nil {
		return nil, err
	}
	return os.NewFile(uintptr(fd), joinName(d.name, name)), nil
}

// CreateFd is [Dir.CreateFile] returning the bare descriptor, which the
// caller owns and must close. It exists for extractors writing thousands of
// small files: wrapping each descriptor in an *os.File costs an fcntl(2)
// and a finalizer per file.
func (d *Dir) CreateFd(name string, flags int, mode uint32) (int, error) {
	if err := checkName(name, false); err != nil {
		return -1, d.pathErr("openat", name, err)
	}
	if mode&^permBits != 0 {
		return -1, d.pathErr("openat", name, ErrInvalidMode)
	}
	if flags&(unix.O_PATH|unix.O_DIRECTORY) != 0 || createsSomething(flags&^unix.O_CREAT) {
		return -1, d.pathErr("openat", name, unix.EINVAL)
	}
	flags |= unix.O_CREAT | unix.O_EXCL | unix.O_NOFOLLOW | unix.O_NOCTTY
	fd, err := useFd(d.fd, func(dirfd int) (int, error) { return linux.Openat(dirfd, name, flags, mode) })
	if err != nil {
		return -1, d.pathErr("openat", name, err)
	}
	return fd, nil
}

// Mkdir creates the directory name; EEXIST if anything is there. The mode is
// subject to the umask and mkdirat(2) ignores setuid and setgid; apply the
// exact mode with [Dir.Chmod] afterwards.
func (d *Dir) Mkdir(name string, mode uint32) error {
	if err := checkName(name, false); err != nil {
		return d.pathErr("mkdirat", name, err)
	}
	if mode&^permBits != 0 {
		return d.pathErr("mkdirat", name, ErrInvalidMode)
	}
	err := d.fd.use(func(fd int) error {
		return linux.RetryEINTR(func() error { return unix.Mkdirat(fd, name, mode) })
	})
	if err != nil {
		return d.pathErr("mkdirat", name, err)
	}
	return nil
}

// Mknod creates a character device, block device or FIFO: mode must carry
// exactly one of S_IFCHR, S_IFBLK, S_IFIFO plus permission bits; dev is
// unix.Mkdev(major, minor) (ignored for FIFOs). Creating devices needs
// CAP_MKNOD; without it the kernel answers EPERM.
func (d *Dir) Mknod(name string, mode uint32, dev uint64) error {
	if err := checkName(name, false); err != nil {
		return d.pathErr("mknodat", name, err)
	}
	switch mode & unix.S_IFMT {
	case unix.S_IFCHR, unix.S_IFBLK, unix.S_IFIFO:
	default:
		return d.pathErr("mknodat", name, ErrInvalidMode)
	}
	if mode&^(unix.S_IFMT|permBits) != 0 {
		return d.pathErr("mknodat", name, ErrInvalidMode)
	}
	err := d.fd.use(func(fd int) error {
		return linux.RetryEINTR(func() error { return unix.Mknodat(fd, name, mode, int(dev)) })
	})
	if err != nil {
		return d.pathErr("mknodat", name, err)
	}
	return nil
}

// Symlink creates the symlink name pointing at unsafeLinkname, stored
// verbatim (it is only ever resolved later through a Root, so an absolute or
// escaping target stays inside). EEXIST if anything is there.
func (d *Dir) Symlink(unsafeLinkname, name string) error {
	if err := checkName(name, false); err != nil {
		return d.pathErr("symlinkat", name, err)
	}
	if hasNUL(unsafeLinkname) {
		return d.pathErr("symlinkat", name, unix.EINVAL)
	}
	err := d.fd.use(func(fd int) error {
		return linux.RetryEINTR(func() error { return unix.Symlinkat(unsafeLinkname, fd, name) })
	})
	if err != nil {
		return d.pathErr("symlinkat", name, err)
	}
	return nil
}

// Hardlink creates name as a hard link to unsafeTarget, a path resolved in
// the same root as the Dir: its parents with in-root semantics (absolute
// paths and ".." re-rooted), its final component never followed, so a link
// to a symlink links the symlink inode itself (linkat(2) without
// AT_SYMLINK_FOLLOW). A target that does not exist is ENOENT; a target with
// a trailing slash or naming the root is EINVAL; directories are EPERM.
func (d *Dir) Hardlink(name, unsafeTarget string) error {
	if err := checkName(name, false); err != nil {
		return d.pathErr("linkat", name, err)
	}
	tdir, tname, err := d.root.resolveParent(unsafeTarget)
	if err != nil {
		return d.pathErr("linkat", name, err)
	}
	defer tdir.Close()
	err = tdir.fd.use(func(tfd int) error {
		return d.fd.use(func(fd int) error {
			return linux.RetryEINTR(func() error { return unix.Linkat(tfd, tname, fd, name, 0) })
		})
	})
	if err != nil {
		return d.pathErr("linkat", name, err)
	}
	return nil
}
