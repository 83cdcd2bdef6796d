package procfs

import (
	"errors"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/safeunpack/safeunpack/internal/linux"
)

// maxSymlinkHops is how many symlinks one emulated lookup may follow: 40,
// the kernel's MAXSYMLINKS (include/linux/namei.h), so that both resolvers
// give ELOOP at the same depth.
const maxSymlinkHops = 40

// walk is the emulated resolver, used when openat2 is unusable. It opens one
// component at a time with O_PATH|O_NOFOLLOW and checks each one: procfs,
// on h's mount (a mount over any component changes the id), no "..", and
// symlinks only with relative targets that are neither absolute nor of the
// "type:[id]" form of magic links (anon_inode:[eventfd], net:[4026531840],
// anon_inode:inotify), which it refuses with ELOOP as RESOLVE_NO_MAGICLINKS
// does. Relative procfs symlinks such as self and thread-self are followed.
// The final component is then opened with the caller's flags plus O_NOFOLLOW
// and must be the inode that was checked.
func (h *Handle) walk(rel string, flags int, follow bool) (int, error) {
	parts, dirOnly := splitComponents(rel)
	if dirOnly {
		// "." stays as a sentinel, so the component before it is walked
		// (followed if a symlink) like any intermediate one.
		flags |= unix.O_DIRECTORY
		parts = append(parts, ".")
	}
	cur := h.fd
	defer func() {
		if cur != h.fd {
			_ = unix.Close(cur)
		}
	}()
	hops := 0
	for len(parts) > 0 {
		part := parts[0]
		parts = parts[1:]
		if part == "." {
			continue // The trailing sentinel: cur itself is opened below.
		}
		if part == ".." {
			return -1, unsafef("procfs symlink leads to \"..\"")
		}
		last := len(parts) == 0
		fd, err := linux.Openat(cur, part, unix.O_PATH|unix.O_NOFOLLOW, 0)
		if err != nil {
			return -1, err
		}
		st, err := h.checkComponent(fd)
		if err != nil {
			_ = unix.Close(fd)
			return -1, err
		}
		mode := st.Mode & unix.S_IFMT
		switch {
		case mode == unix.S_IFLNK && (!last || follow):
			target, err := readlinkFd(fd)
			_ = unix.Close(fd)
			if err != nil {
				return -1, err
			}
			if magicTarget(target) {
				return -1, unix.ELOOP
			}
			if hops++; hops > maxSymlinkHops {
				return -1, unix.ELOOP
			}
			tparts, tdir := splitComponents(target)
			if tdir {
				tparts = append(tparts, ".")
			}
			parts = append(tparts, parts...)
		case !last:
			if mode != unix.S_IFDIR {
				_ = unix.Close(fd)
				return -1, unix.ENOTDIR
			}
			if cur != h.fd {
				_ = unix.Close(cur)
			}
			cur = fd
		default:
			_ = unix.Close(fd)
			return reopenChecked(cur, part, flags|unix.O_NOFOLLOW, st)
		}
	}
	// Nothing left: the path named the directory cur itself.
	var st unix.Stat_t
	if err := unix.Fstat(cur, &st); err != nil {
		return -1, err
	}
	return reopenChecked(cur, ".", flags, st)
}

// magicTarget reports whether a procfs symlink target is one a lookup must
// not follow: empty, absolute (fd/N, cwd, exe, root), or a "type:[id]" or
// "anon_inode:name" pseudo-path (ns/*, fd/N of pipes, sockets and anonymous
// inodes). The relative links procfs has (self, thread-self, mounts, net)
// contain no colon.
func magicTarget(target string) bool {
	return target == "" || strings.HasPrefix(target, "/") || strings.Contains(target, ":")
}

// checkComponent checks one component fd of an emulated walk and returns
// its stat.
func (h *Handle) checkComponent(fd int) (unix.Stat_t, error) {
	var st unix.Stat_t
	if err := isProcfs(fd); err != nil {
		return st, err
	}
	if err := h.checkFd(fd); err != nil {
		return st, err
	}
	err := linux.RetryEINTR(func() error { return unix.Fstat(fd, &st) })
	return st, err
}

// reopenChecked opens name in dir with flags and checks that it is the inode
// described by want (a swap between the check and the open is refused).
func reopenChecked(dir int, name string, flags int, want unix.Stat_t) (int, error) {
	fd, err := linux.OpenatInode(dir, name, flags, want.Dev, want.Ino)
	if errors.Is(err, linux.ErrInodeChanged) {
		return -1, unsafef("%q changed between check and open", name)
	}
	return fd, err
}

// splitComponents splits a relative path into its components, dropping empty
// and "." components, and reports whether the path must name a directory
// because it ends in "/" or "/." after at least one component.
func splitComponents(p string) ([]string, bool) {
	var parts []string
	for part := range strings.SplitSeq(p, "/") {
		if part != "" && part != "." {
			parts = append(parts, part)
		}
	}
	dirOnly := len(parts) > 0 && (strings.HasSuffix(p, "/") || strings.HasSuffix(p, "/."))
	return parts, dirOnly
}
