package pathrs

import (
	"errors"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/safeunpack/safeunpack/internal/linux"
	"github.com/safeunpack/safeunpack/procfs"
)

// aafsMagic is AAFS_MAGIC (apparmorfs), which, like procfs, serves
// magic-link-like symlinks.
const aafsMagic = 0x5a3c69f0

// Test seam: how the walker reads the path of a descriptor (procfs.FdPath).
var testFdPath = procfs.FdPath

// walker is the emulated RESOLVE_IN_ROOT resolver: a component-by-component
// walk with openat(O_PATH|O_NOFOLLOW), symlinks read and spliced in
// userspace, absolute targets and ".." clamped at the root. Walking down can
// never leave the root; walking ".." can, if somebody moves a directory
// while we are in it, so every ".." is followed by a check through the
// verified procfs that the root and the current directory are still where
// the walk says they are.
type walker struct {
	rootfd   int
	cur      int      // current directory; owned unless == rootfd
	depth    []string // names from the root to cur, for the ".." check
	links    int      // symlinks followed so far
	rootPath string   // procfs path of the root, read at the first ".."
}

func (w *walker) close() {
	if w.cur != w.rootfd && w.cur >= 0 {
		_ = unix.Close(w.cur)
	}
	w.cur = -1
}

// enter makes fd (a directory reached by name) the current directory.
func (w *walker) enter(fd int, name string) {
	w.close()
	w.cur = fd
	w.depth = append(w.depth, name)
}

// resetToRoot handles an absolute symlink target.
func (w *walker) resetToRoot() {
	w.close()
	w.cur = w.rootfd
	w.depth = w.depth[:0]
}

// dotdot walks to the parent, clamped at the root, and verifies the result.
func (w *walker) dotdot() error {
	if len(w.depth) == 0 {
		return nil // ".." of the root is the root (RESOLVE_IN_ROOT).
	}
	fd, err := linux.Openat(w.cur, "..", unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW, 0)
	if err != nil {
		return err
	}
	w.close()
	w.cur = fd
	w.depth = w.depth[:len(w.depth)-1]
	return w.checkNotMoved()
}

// checkNotMoved compares the procfs path of the current directory with the
// root's path plus the names walked, and re-reads the root's path.
func (w *walker) checkNotMoved() error {
	if w.rootPath == "" {
		p, err := testFdPath(w.rootfd)
		if err != nil {
			return err
		}
		w.rootPath = p
	}
	got, err := testFdPath(w.cur)
	if err != nil {
		return err
	}
	want := w.rootPath
	if len(w.depth) > 0 {
		want = strings.TrimSuffix(want, "/") + "/" + strings.Join(w.depth, "/")
	}
	if got != want {
		return ErrPossibleBreakout
	}
	again, err := testFdPath(w.rootfd)
	if err != nil {
		return err
	}
	if again != w.rootPath {
		return ErrPossibleBreakout
	}
	return nil
}

// readLink reads the symlink fd and applies the magic-link policy of
// RESOLVE_NO_MAGICLINKS: on procfs and apparmorfs a target that is absolute
// or has the "type:[inode]" form (anything with ':') is a magic link.
func readLink(fd int) (string, error) {
	target, err := readlinkFd(fd, "")
	if err != nil {
		return "", err
	}
	if strings.HasPrefix(target, "/") || strings.ContainsRune(target, ':') {
		var sfs unix.Statfs_t
		if err := unix.Fstatfs(fd, &sfs); err != nil {
			return "", err
		}
		if sfs.Type == unix.PROC_SUPER_MAGIC || sfs.Type == aafsMagic {
			return "", unix.ELOOP
		}
	}
	if target == "" {
		return "", unix.ENOENT // the kernel's answer for an empty symlink
	}
	return target, nil
}

// pathOnly reports whether flags ask for nothing but an O_PATH descriptor
// (optionally of a directory), which the walker already holds.
func pathOnly(flags int) bool {
	return flags&unix.O_PATH != 0 && flags&^(unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC|unix.O_NOCTTY) == 0
}

// walkOpen resolves unsafePath from rootfd with in-root semantics and opens
// the result with flags (O_NOFOLLOW: do not follow a final symlink).
func (r *Root) walkOpen(rootfd int, unsafePath string, flags int) (int, error) {
	follow := flags&unix.O_NOFOLLOW == 0
	w := &walker{rootfd: rootfd, cur: rootfd}
	defer w.close()
	remaining := unsafePath
	for {
		comp, rest := nextComponent(remaining)
		if comp == "" {
			// Nothing left: the result is the current directory.
			if pathOnly(flags) && w.cur != w.rootfd {
				fd := w.cur
				w.cur = -1 // handed over, not closed
				return fd, nil
			}
			return linux.Openat(w.cur, ".", flags&^unix.O_NOFOLLOW, 0)
		}
		remaining = rest
		switch comp {
		case ".":
			continue
		case "..":
			if err := w.dotdot(); err != nil {
				return -1, err
			}
			continue
		}
		last := rest == ""
		if last && !follow {
			// No symlink to follow: open the final component directly.
			return linux.Openat(w.cur, comp, flags|unix.O_NOFOLLOW, 0)
		}
		if !last {
			// Fast path for the common case, an intermediate directory:
			// one openat and no fstat. O_DIRECTORY|O_NOFOLLOW fails with
			// ENOTDIR on symlinks and other types, which the slow path
			// below then sorts out.
			fd, err := linux.Openat(w.cur, comp, unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW, 0)
			if err == nil {
				w.enter(fd, comp)
				continue
			}
			if !errors.Is(err, unix.ENOTDIR) {
				return -1, err
			}
		}
		fd, err := linux.Openat(w.cur, comp, unix.O_PATH|unix.O_NOFOLLOW, 0)
		if err != nil {
			return -1, err
		}
		var st unix.Stat_t
		if err := unix.Fstat(fd, &st); err != nil {
			_ = unix.Close(fd)
			return -1, err
		}
		isLink := st.Mode&unix.S_IFMT == unix.S_IFLNK
		switch {
		case isLink && (follow || !last):
			w.links++
			if w.links > maxSymlinks {
				_ = unix.Close(fd)
				return -1, unix.ELOOP
			}
			target, err := readLink(fd)
			_ = unix.Close(fd)
			if err != nil {
				return -1, err
			}
			if strings.HasPrefix(target, "/") {
				w.resetToRoot()
			}
			remaining = target + rest
		case last && pathOnly(flags):
			// The O_PATH descriptor we hold is the answer.
			if flags&unix.O_DIRECTORY != 0 && st.Mode&unix.S_IFMT != unix.S_IFDIR {
				_ = unix.Close(fd)
				return -1, unix.ENOTDIR
			}
			return fd, nil
		case last:
			_ = unix.Close(fd)
			// Open the final component for real; a symlink swapped in
			// meanwhile makes this fail with ELOOP, never be followed.
			return linux.Openat(w.cur, comp, flags|unix.O_NOFOLLOW, 0)
		case st.Mode&unix.S_IFMT != unix.S_IFDIR:
			_ = unix.Close(fd)
			return -1, unix.ENOTDIR
		default:
			w.enter(fd, comp)
		}
	}
}
