package testutil

import (
	"runtime"
	"unsafe"

	"golang.org/x/sys/unix"
)

// auditArch is the AUDIT_ARCH_* value seccomp sees for this build.
func auditArch() (uint32, bool) {
	switch runtime.GOARCH {
	case "amd64":
		return unix.AUDIT_ARCH_X86_64, true
	case "arm64":
		return unix.AUDIT_ARCH_AARCH64, true
	}
	return 0, false
}

// DenySyscallsENOSYS installs, for every thread of this process and for
// good, a seccomp filter that makes the given system calls fail with ENOSYS,
// the way an old kernel or a container runtime's profile would (the idea of
// libpathrs's contrib/fake-enosys). Use it only in a re-executed child
// (Reexec with AsSelf): it cannot be undone.
func DenySyscallsENOSYS(nrs ...uint32) error {
	arch, ok := auditArch()
	if !ok {
		return unix.ENOTSUP
	}
	const (
		ldW  = unix.BPF_LD | unix.BPF_W | unix.BPF_ABS
		jeq  = unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K
		retK = unix.BPF_RET | unix.BPF_K
	)
	// struct seccomp_data: int nr at offset 0, __u32 arch at offset 4.
	prog := []unix.SockFilter{
		{Code: ldW, K: 4},
		{Code: jeq, K: arch, Jt: 1, Jf: 0},
		{Code: retK, K: unix.SECCOMP_RET_ALLOW},
		{Code: ldW, K: 0},
	}
	for _, nr := range nrs {
		prog = append(prog,
			unix.SockFilter{Code: jeq, K: nr, Jt: 0, Jf: 1},
			unix.SockFilter{Code: retK, K: unix.SECCOMP_RET_ERRNO | uint32(unix.ENOSYS)},
		)
	}
	prog = append(prog, unix.SockFilter{Code: retK, K: unix.SECCOMP_RET_ALLOW})
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return err
	}
	fprog := unix.SockFprog{Len: uint16(len(prog)), Filter: &prog[0]}
	_, _, errno := unix.Syscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER,
		unix.SECCOMP_FILTER_FLAG_TSYNC, uintptr(unsafe.Pointer(&fprog)))
	runtime.KeepAlive(prog)
	if errno != 0 {
		return errno
	}
	return nil
}
