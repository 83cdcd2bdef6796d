package linux

import (
	"sync"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Fchmodat2 is fchmodat2(2) (Linux 6.6), which, unlike fchmodat(2), honours
// AT_SYMLINK_NOFOLLOW and AT_EMPTY_PATH. On a symlink it fails with
// EOPNOTSUPP: Linux has no symlink modes.
func Fchmodat2(dirfd int, path string, mode uint32, flags int) error {
	p, err := unix.BytePtrFromString(path)
	if err != nil {
		return err
	}
	return RetryEINTR(func() error {
		_, _, e := unix.Syscall6(unix.SYS_FCHMODAT2, uintptr(dirfd), uintptr(unsafe.Pointer(p)),
			uintptr(mode), uintptr(flags), 0, 0)
		if e != 0 {
			return e
		}
		return nil
	})
}

// HasFchmodat2 reports whether the kernel implements fchmodat2(2). It probes
// with an invalid fd: EBADF means the syscall exists, ENOSYS (or a seccomp
// EPERM) that it does not.
var HasFchmodat2 = sync.OnceValue(func() bool {
	err := Fchmodat2(-1, "", 0, unix.AT_EMPTY_PATH)
	return err == unix.EBADF
})
