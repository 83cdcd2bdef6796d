package procfs

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"

	"github.com/safeunpack/safeunpack/internal/linux"
)

// Test seams: unexported function variables, swapped only in _test.go files
// and restored with t.Cleanup (go-style.md rule 8).
var (
	// openFsopen makes a private procfs instance (RungFsopen).
	openFsopen = fsopenProc
	// openTree clones the /proc mount (RungOpenTree, RungOpenTreeRecursive).
	openTree = openTreeProc
	// openHost opens the host /proc (RungHostProc).
	openHost = openHostProc
	// mountAPIAllowed gates fsopen and open_tree on the kernel version.
	mountAPIAllowed = func() bool { return linux.KernelAtLeast(5, 2) }
	// haveSysAdmin reports CAP_SYS_ADMIN in the effective set.
	haveSysAdmin = hasCapSysAdmin
)

// errNoSysAdmin is returned for the fsopen and open_tree rungs without
// trying them when the process lacks CAP_SYS_ADMIN in its own user
// namespace: both need it over the mount namespace (and fsopen("proc") over
// the pid namespace too), which is owned by this user namespace or an
// ancestor, where a process without the capability here cannot have it.
// Skipping them saves an unprivileged caller, who gets an uncached handle
// per operation, three failing system calls each time.
var errNoSysAdmin = fmt.Errorf("no CAP_SYS_ADMIN: %w", unix.EPERM)

// hasCapSysAdmin reads the effective capability set with capget(2).
func hasCapSysAdmin() bool {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return true // Unknown: let the syscalls themselves answer.
	}
	return data[unix.CAP_SYS_ADMIN/32].Effective&(1<<(unix.CAP_SYS_ADMIN%32)) != 0
}

// errMountAPIRefused is returned for the fsopen and open_tree rungs on
// kernels older than 5.2: the syscalls exist there only as backports
// (RHEL 8) that misbehave, so libpathrs 0.2.4 and filepath-securejoin
// 0.5.0 refuse them, and so do we.
var errMountAPIRefused = fmt.Errorf("mount API refused on kernels older than 5.2: %w", errors.ErrUnsupported)

// fsopenProc creates and mounts, detached, a private procfs instance.
// Options it cannot set are ignored, as libpathrs does: hidepid=ptraceable
// and subset=pid need Linux 5.8, and the instance is private either way
// (verification later reports whether subset=pid took).
func fsopenProc(subset bool) (int, error) {
	fsfd, err := unix.Fsopen("proc", unix.FSOPEN_CLOEXEC)
	if err != nil {
		return -1, fmt.Errorf("fsopen: %w", err)
	}
	defer unix.Close(fsfd) //nolint:errcheck // the mount fd keeps the instance alive
	_ = unix.FsconfigSetString(fsfd, "hidepid", "ptraceable")
	if subset {
		_ = unix.FsconfigSetString(fsfd, "subset", "pid")
	}
	if err := unix.FsconfigCreate(fsfd); err != nil {
		return -1, fmt.Errorf("fsconfig create: %w", err)
	}
	fd, err := unix.Fsmount(fsfd, unix.FSMOUNT_CLOEXEC,
		unix.MOUNT_ATTR_NODEV|unix.MOUNT_ATTR_NOEXEC|unix.MOUNT_ATTR_NOSUID)
	if err != nil {
		return -1, fmt.Errorf("fsmount: %w", err)
	}
	return fd, nil
}

// openTreeProc clones the /proc mount of the calling thread's mount
// namespace. It does not follow /proc if it is a symlink: a /proc that is a
// symlink is not the procfs mount we mean.
func openTreeProc(recursive bool) (int, error) {
	flags := unix.OPEN_TREE_CLONE | unix.OPEN_TREE_CLOEXEC | unix.AT_SYMLINK_NOFOLLOW | unix.AT_NO_AUTOMOUNT
	if recursive {
		flags |= unix.AT_RECURSIVE
	}
	fd, err := linux.RetryEINTR2(func() (int, error) { return unix.OpenTree(unix.AT_FDCWD, "/proc", uint(flags)) })
	if err != nil {
		return -1, fmt.Errorf("open_tree: %w", err)
	}
	return fd, nil
}

// openHostProc opens /proc itself, refusing a symlink in its place.
func openHostProc() (int, error) {
	fd, err := linux.Openat(unix.AT_FDCWD, "/proc", unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW, 0)
	if err != nil {
		return -1, fmt.Errorf("open /proc: %w", err)
	}
	return fd, nil
}

// openRung returns an unverified candidate fd for rung r.
func openRung(r Rung, subset bool) (int, error) {
	if r.detachedKind() && !mountAPIAllowed() {
		return -1, errMountAPIRefused
	}
	if r.detachedKind() && !haveSysAdmin() {
		return -1, errNoSysAdmin
	}
	switch r {
	case RungFsopen:
		return openFsopen(subset)
	case RungOpenTree:
		return openTree(false)
	case RungOpenTreeRecursive:
		return openTree(true)
	case RungHostProc:
		return openHost()
	}
	return -1, fmt.Errorf("unknown %s: %w", r, unix.EINVAL)
}

// buildRung opens and verifies a handle of one rung. The result is never
// the cached handle; the caller closes it.
func buildRung(r Rung, subset bool) (*Handle, error) {
	fd, err := openRung(r, subset)
	if err != nil {
		return nil, err
	}
	return newHandle(fd, r)
}

// buildHandle walks the ladder and returns the first verified handle. With
// subset false it builds an unmasked handle (no subset=pid), which sees the
// whole of /proc. The caller owns and closes the result.
func buildHandle(subset bool) (*Handle, error) {
	var errs []error
	for _, r := range ladder {
		h, err := buildRung(r, subset)
		if err == nil {
			return h, nil
		}
		errs = append(errs, fmt.Errorf("%s: %w", r, err))
	}
	return nil, fmt.Errorf("procfs: no usable procfs handle: %w", errors.Join(errs...))
}
