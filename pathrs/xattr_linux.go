package pathrs

import (
	"errors"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/safeunpack/safeunpack/internal/linux"
)

// maxXattrSize is XATTR_SIZE_MAX, the kernel's limit on one value; buffers
// never grow past it.
const maxXattrSize = 64 << 10

// maxXattrList is XATTR_LIST_MAX, the kernel's limit on a name list.
const maxXattrList = 64 << 10

// Test seam: pretend the *xattrat family (Linux 6.13) is missing.
var testHasXattrat = linux.HasXattrat

// xattrOps are the four xattr calls bound to what they act on: dirfd/name
// through the *xattrat family, or an open descriptor through f*xattr.
type xattrOps struct {
	set    func(attr string, value []byte, flags int) error
	get    func(attr string, buf []byte) (int, error)
	list   func(buf []byte) (int, error)
	remove func(attr string) error
}

func fdXattrOps(fd int) xattrOps {
	return xattrOps{
		set: func(a string, v []byte, f int) error { return unix.Fsetxattr(fd, a, v, f) },
		get: func(a string, b []byte) (int, error) { return unix.Fgetxattr(fd, a, b) },
		list: func(b []byte) (int, error) {
			return unix.Flistxattr(fd, b)
		},
		remove: func(a string) error { return unix.Fremovexattr(fd, a) },
	}
}

func atXattrOps(dirfd int, name string) xattrOps {
	const at = unix.AT_SYMLINK_NOFOLLOW
	return xattrOps{
		set: func(a string, v []byte, f int) error { return linux.Setxattrat(dirfd, name, at, a, v, f) },
		get: func(a string, b []byte) (int, error) { return linux.Getxattrat(dirfd, name, at, a, b) },
		list: func(b []byte) (int, error) {
			return linux.Listxattrat(dirfd, name, at, b)
		},
		remove: func(a string) error { return linux.Removexattrat(dirfd, name, at, a) },
	}
}

// withXattrOps runs fn with operations acting on dirfd/name (name "" is
// dirfd itself, which may be any O_PATH descriptor) without following a
// final symlink:
//   - a named entry on Linux 6.13+: the *xattrat calls with
//     AT_SYMLINK_NOFOLLOW (one system call, no open);
//   - a directory: opened through ".", then f*xattr;
//   - a regular file or FIFO: re-opened read-only (FIFOs non-blocking)
//     through the verified procfs, then f*xattr;
//   - a symlink, device or socket on older kernels: EOPNOTSUPP, since no
//     descriptor-based call reaches them without opening them.
func withXattrOps(dirfd int, name string, fn func(xattrOps) error) error {
	if name != "" && testHasXattrat() {
		return fn(atXattrOps(dirfd, name))
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
	var rfd int
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFDIR:
		rfd, err = linux.Openat(fd, ".", unix.O_RDONLY|unix.O_DIRECTORY, 0)
	case unix.S_IFREG:
		rfd, err = reopenFd(fd, unix.O_RDONLY)
	case unix.S_IFIFO:
		rfd, err = reopenFd(fd, unix.O_RDONLY|unix.O_NONBLOCK)
	default:
		return unix.EOPNOTSUPP
	}
	if err != nil {
		return err
	}
	defer unix.Close(rfd)
	return fn(fdXattrOps(rfd))
}

func checkAttrName(attr string) error {
	if attr == "" || hasNUL(attr) || !strings.Contains(attr, ".") {
		return unix.EINVAL
	}
	return nil
}

func setXattr(dirfd int, name, attr string, value []byte, flags int) error {
	if err := checkAttrName(attr); err != nil {
		return err
	}
	if len(value) > maxXattrSize {
		return unix.E2BIG
	}
	return withXattrOps(dirfd, name, func(o xattrOps) error {
		return linux.RetryEINTR(func() error { return o.set(attr, value, flags) })
	})
}

func getXattr(dirfd int, name, attr string) ([]byte, error) {
	if err := checkAttrName(attr); err != nil {
		return nil, err
	}
	var out []byte
	err := withXattrOps(dirfd, name, func(o xattrOps) error {
		for size := 256; ; size *= 4 {
			buf := make([]byte, size)
			n, err := linux.RetryEINTR2(func() (int, error) { return o.get(attr, buf) })
			if errors.Is(err, unix.ERANGE) && size < maxXattrSize {
				continue
			}
			if err != nil {
				return err
			}
			out = buf[:n]
			return nil
		}
	})
	return out, err
}

func listXattr(dirfd int, name string) ([]string, error) {
	var out []string
	err := withXattrOps(dirfd, name, func(o xattrOps) error {
		for size := 1024; ; size *= 4 {
			buf := make([]byte, size)
			n, err := linux.RetryEINTR2(func() (int, error) { return o.list(buf) })
			if errors.Is(err, unix.ERANGE) && size < maxXattrList {
				continue
			}
			if err != nil {
				return err
			}
			for _, a := range strings.Split(string(buf[:n]), "\x00") {
				if a != "" {
					out = append(out, a)
				}
			}
			return nil
		}
	})
	return out, err
}

func removeXattr(dirfd int, name, attr string) error {
	if err := checkAttrName(attr); err != nil {
		return err
	}
	return withXattrOps(dirfd, name, func(o xattrOps) error {
		return linux.RetryEINTR(func() error { return o.remove(attr) })
	})
}

// Lsetxattr sets the extended attribute attr of name ("" is the directory
// itself) without following a symlink (lsetxattr(2) semantics). flags are
// 0, unix.XATTR_CREATE or unix.XATTR_REPLACE.
func (d *Dir) Lsetxattr(name, attr string, value []byte, flags int) error {
	if err := checkName(name, true); err != nil {
		return d.pathErr("setxattrat", name, err)
	}
	if err := d.fd.use(func(fd int) error { return setXattr(fd, name, attr, value, flags) }); err != nil {
		return d.pathErr("setxattrat", name, err)
	}
	return nil
}

// Lgetxattr returns the value of attr on name ("" is the directory itself)
// without following a symlink.
func (d *Dir) Lgetxattr(name, attr string) ([]byte, error) {
	if err := checkName(name, true); err != nil {
		return nil, d.pathErr("getxattrat", name, err)
	}
	v, err := useFd(d.fd, func(fd int) ([]byte, error) { return getXattr(fd, name, attr) })
	if err != nil {
		return nil, d.pathErr("getxattrat", name, err)
	}
	return v, nil
}

// Llistxattr lists the extended attribute names of name ("" is the
// directory itself) without following a symlink.
func (d *Dir) Llistxattr(name string) ([]string, error) {
	if err := checkName(name, true); err != nil {
		return nil, d.pathErr("listxattrat", name, err)
	}
	v, err := useFd(d.fd, func(fd int) ([]string, error) { return listXattr(fd, name) })
	if err != nil {
		return nil, d.pathErr("listxattrat", name, err)
	}
	return v, nil
}

// Lremovexattr removes attr from name ("" is the directory itself) without
// following a symlink.
func (d *Dir) Lremovexattr(name, attr string) error {
	if err := checkName(name, true); err != nil {
		return d.pathErr("removexattrat", name, err)
	}
	if err := d.fd.use(func(fd int) error { return removeXattr(fd, name, attr) }); err != nil {
		return d.pathErr("removexattrat", name, err)
	}
	return nil
}

// Lsetxattr sets attr on the handle's inode, never a symlink's target. See
// withXattrOps for which inode types each kernel supports.
func (h *Handle) Lsetxattr(attr string, value []byte, flags int) error {
	if err := h.fd.use(func(fd int) error { return setXattr(fd, "", attr, value, flags) }); err != nil {
		return h.pathErr("setxattr", err)
	}
	return nil
}

// Lgetxattr returns attr of the handle's inode.
func (h *Handle) Lgetxattr(attr string) ([]byte, error) {
	v, err := useFd(h.fd, func(fd int) ([]byte, error) { return getXattr(fd, "", attr) })
	if err != nil {
		return nil, h.pathErr("getxattr", err)
	}
	return v, nil
}

// Llistxattr lists the handle's extended attribute names.
func (h *Handle) Llistxattr() ([]string, error) {
	v, err := useFd(h.fd, func(fd int) ([]string, error) { return listXattr(fd, "") })
	if err != nil {
		return nil, h.pathErr("listxattr", err)
	}
	return v, nil
}

// Lremovexattr removes attr from the handle's inode.
func (h *Handle) Lremovexattr(attr string) error {
	if err := h.fd.use(func(fd int) error { return removeXattr(fd, "", attr) }); err != nil {
		return h.pathErr("removexattr", err)
	}
	return nil
}
