package procfs

import (
	"errors"
	"os"
	"runtime"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/safeunpack/safeunpack/internal/linux"
)

// Open opens base/subpath through the cached or best available handle; see
// [Handle.Open].
func Open(base Base, subpath string, flags int) (*File, error) {
	h, err := defaultHandle()
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: base.display(subpath), Err: err}
	}
	defer h.releaseTemp()
	return h.Open(base, subpath, flags)
}

// OpenFollow opens base/subpath, following a final magic link, through the
// cached or best available handle; see [Handle.OpenFollow].
func OpenFollow(base Base, subpath string, flags int) (*File, error) {
	h, err := defaultHandle()
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: base.display(subpath), Err: err}
	}
	defer h.releaseTemp()
	return h.OpenFollow(base, subpath, flags)
}

// Readlink reads the symlink base/subpath through the cached or best
// available handle; see [Handle.Readlink].
func Readlink(base Base, subpath string) (string, error) {
	h, err := defaultHandle()
	if err != nil {
		return "", &os.PathError{Op: "readlink", Path: base.display(subpath), Err: err}
	}
	defer h.releaseTemp()
	return h.Readlink(base, subpath)
}

// Open opens base/subpath with flags (O_CLOEXEC is always added). It never
// follows the final component: a final symlink gives ELOOP, or the link
// itself with O_PATH. Effectively it is os.OpenFile("/proc/<base>/<subpath>",
// flags|O_NOFOLLOW, 0), but the naive call follows whatever is mounted on
// top of any component, or a fake /proc altogether, so that, for example, a
// label written to attr/current lands in a tmpfs file (CVE-2019-16884) or in
// /proc/self/sched (CVE-2025-52881). Here the lookup cannot leave the base,
// cross a mount or follow a magic link, and the file must lie on the
// handle's own mount, else the error matches [ErrUnsafeProcfs].
//
// O_CREAT, O_EXCL and O_TMPFILE are refused with EINVAL, as are absolute
// subpaths and ".." components. Errors are *os.PathError.
func (h *Handle) Open(base Base, subpath string, flags int) (*File, error) {
	return h.openFile(base, subpath, flags, false)
}

// OpenFollow is [Handle.Open] but follows the final component, including a
// magic link such as fd/N, exe or cwd (never an intermediate one:
// "cwd/etc/passwd" gives ELOOP). It first tries the safe resolver and
// returns on success. On ELOOP (a magic link) it opens the parent directory
// through the safe resolver, requires the link itself to lie on the parent's
// mount (so that, for example, /proc/1/fd/0 bind-mounted over exe is refused
// with [ErrUnsafeProcfs]) and then follows it. The file reached lies
// elsewhere and is not checked. This is race-free only on detached handles:
// on [RungHostProc] a mount could appear between the check and the open. A
// trailing slash implies O_DIRECTORY.
func (h *Handle) OpenFollow(base Base, subpath string, flags int) (*File, error) {
	return h.openFile(base, subpath, flags, true)
}

// openFile implements Open and OpenFollow.
func (h *Handle) openFile(base Base, subpath string, flags int, follow bool) (*File, error) {
	flags, err := checkOpenFlags(flags)
	if err == nil {
		err = checkSubpath(subpath)
	}
	if err == nil && base.kind == baseInvalid {
		err = unix.EINVAL
	}
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: base.display(subpath), Err: err}
	}
	locked := base.kind == baseThreadSelf
	if locked {
		runtime.LockOSThread()
	}
	fd, name := -1, ""
	err = h.run(base, flags&unix.O_PATH == 0, func(cur *Handle) error {
		return cur.inBase(base, subpath, func(rel string) error {
			var e error
			if follow {
				fd, e = cur.openFollow(rel, flags)
			} else {
				fd, e = cur.lookup(rel, flags, false)
			}
			name = rel
			return e
		})
	})
	if err != nil {
		if locked {
			runtime.UnlockOSThread()
		}
		return nil, &os.PathError{Op: "open", Path: base.display(subpath), Err: err}
	}
	return &File{File: os.NewFile(uintptr(fd), "/proc/"+strings.TrimSuffix(name, "/.")), locked: locked}, nil
}

// openFollow implements the lookup of OpenFollow for rel.
func (h *Handle) openFollow(rel string, flags int) (int, error) {
	fd, err := h.lookup(rel, flags, true)
	if !errors.Is(err, unix.ELOOP) {
		return fd, err
	}
	trimmed := strings.TrimRight(rel, "/")
	if trimmed != rel {
		flags |= unix.O_DIRECTORY
	}
	dir, name := "", trimmed
	if i := strings.LastIndexByte(trimmed, '/'); i >= 0 {
		dir, name = trimmed[:i], trimmed[i+1:]
	}
	if name == "" || name == "." {
		return -1, err
	}
	// The parent is looked up following a final plain symlink ("self") but
	// never a magic one ("cwd" in "cwd/x" gives ELOOP).
	dfd, derr := h.lookup(dir, unix.O_PATH|unix.O_DIRECTORY, true)
	if derr != nil {
		if errors.Is(derr, ErrUnsafeProcfs) {
			return -1, derr
		}
		return -1, err // A magic link before the last component: ELOOP.
	}
	defer unix.Close(dfd) //nolint:errcheck // O_PATH fd
	var st unix.Stat_t
	if serr := unix.Fstatat(dfd, name, &st, unix.AT_SYMLINK_NOFOLLOW); serr != nil {
		return -1, serr
	}
	if st.Mode&unix.S_IFMT != unix.S_IFLNK {
		return -1, err // The ELOOP came from somewhere else: report it.
	}
	return h.openMagic(dfd, name, flags)
}

// openMagic follows the magic link name in the verified directory dfd after
// checking that the link itself lies on h's mount.
func (h *Handle) openMagic(dfd int, name string, flags int) (int, error) {
	link, _, err := pathMountID(h.fd, dfd, name)
	if err != nil {
		return -1, err
	}
	if !link.same(h.mnt) {
		return -1, unsafef("magic link %q is on mount %d, the %s handle on mount %d (something is mounted over it)",
			name, link.id, h.rung, h.mnt.id)
	}
	return linux.Openat(dfd, name, flags&^unix.O_NOFOLLOW, 0)
}

// Readlink returns the target of the symlink base/subpath, typically a magic
// link such as fd/N or exe. It opens the link itself O_PATH|O_NOFOLLOW with
// [Handle.Open]'s checks and reads it with readlinkat(fd, ""), so an
// overmounted link cannot be read in its place. A non-symlink gives EINVAL.
// Errors are *os.PathError.
func (h *Handle) Readlink(base Base, subpath string) (string, error) {
	err := checkSubpath(subpath)
	if err == nil && base.kind == baseInvalid {
		err = unix.EINVAL
	}
	if err != nil {
		return "", &os.PathError{Op: "readlink", Path: base.display(subpath), Err: err}
	}
	if base.kind == baseThreadSelf {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
	}
	var target string
	err = h.run(base, false, func(cur *Handle) error {
		return cur.inBase(base, subpath, func(rel string) error {
			fd, e := cur.lookup(rel, unix.O_PATH, false)
			if e != nil {
				return e
			}
			defer unix.Close(fd) //nolint:errcheck // O_PATH fd
			target, e = readlinkFd(fd)
			return e
		})
	})
	if err != nil {
		return "", &os.PathError{Op: "readlink", Path: base.display(subpath), Err: err}
	}
	return target, nil
}

// maxLinkSize bounds a readlink result: procfs magic links print at most
// one page (d_path into a page buffer), so 64 KiB leaves room on every page
// size without letting a hostile filesystem make us allocate without limit.
const maxLinkSize = 64 << 10

// readlinkFd reads the symlink that fd (an O_PATH|O_NOFOLLOW fd) refers to.
func readlinkFd(fd int) (string, error) {
	for size := 256; size <= maxLinkSize; size *= 4 {
		buf := make([]byte, size)
		n, err := linux.RetryEINTR2(func() (int, error) { return unix.Readlinkat(fd, "", buf) })
		if err != nil {
			// readlinkat(fd, "") on something that is not a symlink
			// gives ENOENT; readlink(2) on a non-link gives EINVAL.
			var st unix.Stat_t
			if errors.Is(err, unix.ENOENT) && unix.Fstat(fd, &st) == nil && st.Mode&unix.S_IFMT != unix.S_IFLNK {
				return "", unix.EINVAL
			}
			return "", err
		}
		if n < size {
			return string(buf[:n]), nil
		}
	}
	return "", unix.ENAMETOOLONG
}
