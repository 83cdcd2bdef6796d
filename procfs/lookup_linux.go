package procfs

import (
	"errors"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/safeunpack/safeunpack/internal/linux"
)

// resolveFlags are the openat2 restrictions of every procfs lookup: stay
// beneath the root, never cross a mount (an overmount anywhere on the path,
// including on the final component, gives EXDEV), never follow a magic link.
const resolveFlags = unix.RESOLVE_BENEATH | unix.RESOLVE_NO_XDEV | unix.RESOLVE_NO_MAGICLINKS

// maxEAGAINRetries bounds retries of a scoped openat2 that returned EAGAIN
// (a concurrent rename or mount somewhere in the system): 128 as in
// libpathrs 0.2.1, which measured about 0.1% failures against an attacker
// renaming on every core at that bound.
const maxEAGAINRetries = 128

// maxPathLen is PATH_MAX: no procfs subpath we accept is longer.
const maxPathLen = 4096

// Test seams choosing the resolver.
var (
	// openat2Enabled says, without a system call, whether to try openat2.
	openat2Enabled = func() bool { return !linux.Openat2KnownBroken() }
	// openat2Usable is asked after openat2 failed: if openat2 itself is
	// unusable (ENOSYS before Linux 5.6, or a seccomp denial), the lookup
	// is redone with the emulated walk; otherwise the error is the answer.
	openat2Usable = linux.HasOpenat2
)

// lookup resolves rel beneath the root of h and opens it with flags,
// following no final symlink unless follow is set and never following a
// magic link, and checks that the result lies on h's mount.
func (h *Handle) lookup(rel string, flags int, follow bool) (int, error) {
	if !follow {
		flags |= unix.O_NOFOLLOW
	}
	fd, err := h.resolve(rel, flags, follow)
	if err != nil {
		return -1, err
	}
	if err := h.checkFd(fd); err != nil {
		_ = unix.Close(fd)
		return -1, err
	}
	return fd, nil
}

// resolve picks the resolver.
func (h *Handle) resolve(rel string, flags int, follow bool) (int, error) {
	if openat2Enabled() {
		fd, err := openat2Beneath(h.fd, rel, flags)
		if err == nil || openat2Usable() {
			return fd, err
		}
	}
	return h.walk(rel, flags, follow)
}

// openat2Beneath is openat2(dirfd, rel) with resolveFlags, retried on EAGAIN.
func openat2Beneath(dirfd int, rel string, flags int) (int, error) {
	if rel == "" {
		rel = "."
	}
	how := unix.OpenHow{Flags: uint64(flags), Resolve: resolveFlags}
	var (
		fd  int
		err error
	)
	for range maxEAGAINRetries {
		fd, err = linux.Openat2(dirfd, rel, &how)
		if !errors.Is(err, unix.EAGAIN) {
			break
		}
	}
	if errors.Is(err, unix.EXDEV) {
		// rel is relative and free of "..": the only way out of the mount
		// is something mounted over a component, or a symlink leaving it.
		return -1, unsafef("lookup of %q crosses a mount (openat2 RESOLVE_NO_XDEV)", rel)
	}
	return fd, err
}

// checkSubpath refuses subpaths that could leave their base or that no
// procfs file has: absolute paths, ".." components, NUL bytes, and paths
// longer than PATH_MAX. A procfs subpath is a program constant, so these are
// caller bugs (EINVAL), not attacks.
func checkSubpath(subpath string) error {
	switch {
	case len(subpath) > maxPathLen:
		return unix.ENAMETOOLONG
	case strings.HasPrefix(subpath, "/"), strings.IndexByte(subpath, 0) >= 0:
		return unix.EINVAL
	}
	for part := range strings.SplitSeq(subpath, "/") {
		if part == ".." {
			return unix.EINVAL
		}
	}
	return nil
}

// checkOpenFlags refuses creation flags (procfs files are never created
// through this package), normalises O_PATH, with which open(2) ignores other
// flags but openat2(2) refuses them, and adds O_CLOEXEC, and O_NOCTTY unless
// O_PATH (a magic link followed by OpenFollow or Reopen may lead to a
// terminal, which must never become our controlling one).
func checkOpenFlags(flags int) (int, error) {
	const tmpfile = unix.O_TMPFILE &^ unix.O_DIRECTORY
	if flags&(unix.O_CREAT|unix.O_EXCL|tmpfile) != 0 {
		return 0, unix.EINVAL
	}
	if flags&unix.O_PATH != 0 {
		return flags&(unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW) | unix.O_CLOEXEC, nil
	}
	return flags | unix.O_CLOEXEC | unix.O_NOCTTY, nil
}
