package pathrs

import (
	"strings"

	"golang.org/x/sys/unix"
)

// maxPathLen is PATH_MAX: the kernel refuses longer path arguments with
// ENAMETOOLONG, and the emulated resolver must give the same answer.
const maxPathLen = 4096

// maxSymlinks is MAXSYMLINKS, the kernel's limit on symlinks followed in one
// lookup (include/linux/namei.h). Both backends use it, so an archive never
// resolves on one backend and fails on the other (threats.md T08).
const maxSymlinks = 40

// nextComponent splits the first path component off p. It skips leading
// slashes; rest keeps its leading slash so callers can tell a trailing slash
// ("a/" → "a", "/") from a last component ("a" → "a", "").
func nextComponent(p string) (comp, rest string) {
	p = strings.TrimLeft(p, "/")
	if i := strings.IndexByte(p, '/'); i >= 0 {
		return p[:i], p[i:]
	}
	return p, ""
}

// splitParent splits unsafePath into the parent path and the final
// component, without any lexical cleaning (".." after a symlink does not
// mean what path.Clean thinks). Trailing slashes are removed and reported.
// An empty final component (the path names the root, such as "/" or "")
// is returned as "".
func splitParent(unsafePath string) (parent, name string, trailingSlash bool) {
	trimmed := strings.TrimRight(unsafePath, "/")
	trailingSlash = len(trimmed) != len(unsafePath)
	i := strings.LastIndexByte(trimmed, '/')
	if i < 0 {
		return ".", trimmed, trailingSlash
	}
	parent = trimmed[:i]
	if parent == "" {
		parent = "/"
	}
	return parent, trimmed[i+1:], trailingSlash
}

// validName reports whether name is a single path component an operation may
// act on: not empty, not "." or "..", no '/', no NUL.
func validName(name string) bool {
	return name != "" && name != "." && name != ".." &&
		!strings.ContainsRune(name, '/') && !strings.ContainsRune(name, 0)
}

// hasNUL reports whether s holds a NUL byte; such paths are EINVAL, never
// truncated.
func hasNUL(s string) bool { return strings.IndexByte(s, 0) >= 0 }

// joinName builds a path for messages only.
func joinName(dir, name string) string {
	switch {
	case name == "":
		return dir
	case dir == "" || dir == "/" || dir == ".":
		return "/" + name
	default:
		return dir + "/" + name
	}
}

// createsSomething reports whether open flags would create an inode:
// O_CREAT, or O_TMPFILE (whose value includes O_DIRECTORY, so it must be
// tested as a whole).
func createsSomething(flags int) bool {
	return flags&unix.O_CREAT != 0 || flags&unix.O_TMPFILE == unix.O_TMPFILE
}
