package linux

import (
	"sync"
	"unsafe"

	"golang.org/x/sys/unix"
)

// xattrArgs is struct xattr_args from <linux/xattr.h> (XATTR_ARGS_SIZE_VER0).
type xattrArgs struct {
	value uint64
	size  uint32
	flags uint32
}

// Setxattrat is setxattrat(2) (Linux 6.13). With dirfd a directory and path a
// single name plus AT_SYMLINK_NOFOLLOW it acts on that name without following
// it. The kernel refuses O_PATH fds with AT_EMPTY_PATH (EBADF, seen on 6.18).
func Setxattrat(dirfd int, path string, atFlags int, name string, value []byte, flags int) error {
	p, err := unix.BytePtrFromString(path)
	if err != nil {
		return err
	}
	n, err := unix.BytePtrFromString(name)
	if err != nil {
		return err
	}
	args := xattrArgs{size: uint32(len(value)), flags: uint32(flags)}
	if len(value) > 0 {
		args.value = uint64(uintptr(unsafe.Pointer(&value[0])))
	}
	return RetryEINTR(func() error {
		_, _, e := unix.Syscall6(unix.SYS_SETXATTRAT, uintptr(dirfd), uintptr(unsafe.Pointer(p)),
			uintptr(atFlags), uintptr(unsafe.Pointer(n)), uintptr(unsafe.Pointer(&args)), unsafe.Sizeof(args))
		if e != 0 {
			return e
		}
		return nil
	})
}

// Getxattrat is getxattrat(2) (Linux 6.13). It returns the value's size; with
// an empty buf it only reports the size.
func Getxattrat(dirfd int, path string, atFlags int, name string, buf []byte) (int, error) {
	p, err := unix.BytePtrFromString(path)
	if err != nil {
		return 0, err
	}
	n, err := unix.BytePtrFromString(name)
	if err != nil {
		return 0, err
	}
	args := xattrArgs{size: uint32(len(buf))}
	if len(buf) > 0 {
		args.value = uint64(uintptr(unsafe.Pointer(&buf[0])))
	}
	return RetryEINTR2(func() (int, error) {
		r, _, e := unix.Syscall6(unix.SYS_GETXATTRAT, uintptr(dirfd), uintptr(unsafe.Pointer(p)),
			uintptr(atFlags), uintptr(unsafe.Pointer(n)), uintptr(unsafe.Pointer(&args)), unsafe.Sizeof(args))
		if e != 0 {
			return 0, e
		}
		return int(r), nil
	})
}

// Listxattrat is listxattrat(2) (Linux 6.13): NUL-separated names into buf.
func Listxattrat(dirfd int, path string, atFlags int, buf []byte) (int, error) {
	p, err := unix.BytePtrFromString(path)
	if err != nil {
		return 0, err
	}
	var bp unsafe.Pointer
	if len(buf) > 0 {
		bp = unsafe.Pointer(&buf[0])
	}
	return RetryEINTR2(func() (int, error) {
		r, _, e := unix.Syscall6(unix.SYS_LISTXATTRAT, uintptr(dirfd), uintptr(unsafe.Pointer(p)),
			uintptr(atFlags), uintptr(bp), uintptr(len(buf)), 0)
		if e != 0 {
			return 0, e
		}
		return int(r), nil
	})
}

// Removexattrat is removexattrat(2) (Linux 6.13).
func Removexattrat(dirfd int, path string, atFlags int, name string) error {
	p, err := unix.BytePtrFromString(path)
	if err != nil {
		return err
	}
	n, err := unix.BytePtrFromString(name)
	if err != nil {
		return err
	}
	return RetryEINTR(func() error {
		_, _, e := unix.Syscall6(unix.SYS_REMOVEXATTRAT, uintptr(dirfd), uintptr(unsafe.Pointer(p)),
			uintptr(atFlags), uintptr(unsafe.Pointer(n)), 0, 0)
		if e != 0 {
			return e
		}
		return nil
	})
}

// HasXattrat reports whether the *xattrat family exists (Linux 6.13), probing
// with an invalid fd as [HasFchmodat2] does.
var HasXattrat = sync.OnceValue(func() bool {
	err := Removexattrat(-1, "x", 0, "user.probe")
	return err == unix.EBADF
})
