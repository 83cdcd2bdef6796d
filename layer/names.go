package layer

import (
	"path"
	"strings"
)

// Whiteout names (image-spec layer.md, "Whiteouts").
const (
	whiteoutPrefix     = ".wh."
	whiteoutMetaPrefix = ".wh..wh."
	opaqueWhiteout     = ".wh..wh..opq"
)

// rootPath is the cleaned name of the root directory itself.
const rootPath = "."

// cleanedName is an entry or link name after lexical cleaning.
type cleanedName struct {
	// path is relative to the root, without leading or trailing '/', with
	// no "." or ".." components; "." is the root itself.
	path string
	// absolute reports a leading '/' in the raw name (stripped).
	absolute bool
	// clamped reports ".." components that would have climbed above the
	// root and were dropped (RESOLVE_IN_ROOT semantics).
	clamped bool
}

// cleanName cleans an untrusted name as if the layer were chrooted into the
// rootfs: path.Clean("/"+name), so that ".." never climbs above the root
// (it is clamped there, as openat2's RESOLVE_IN_ROOT does for symlinks),
// a leading '/' is stripped and "", ".", "./", "/" and "a/.." all name the
// root. A NUL byte is an error, never a truncation (threats.md T09); so is
// a cleaned name longer than the kernel's PATH_MAX.
func cleanName(raw string) (cleanedName, error) {
	if strings.IndexByte(raw, 0) >= 0 {
		return cleanedName{}, invalidEntry("NUL byte in name %q", raw)
	}
	c := cleanedName{absolute: strings.HasPrefix(raw, "/")}
	rel := path.Clean(strings.TrimLeft(raw, "/"))
	c.clamped = rel == ".." || strings.HasPrefix(rel, "../")
	c.path = path.Clean("/" + raw)[1:]
	if c.path == "" {
		c.path = rootPath
	}
	if len(c.path) > maxNameLength {
		return c, &LimitError{Limit: "NameLength", Value: maxNameLength}
	}
	return c, nil
}

// splitPath returns the parent directory ("." at the top level) and the
// final component of a cleaned, non-root path.
func splitPath(p string) (parent, name string) {
	i := strings.LastIndexByte(p, '/')
	if i < 0 {
		return rootPath, p
	}
	return p[:i], p[i+1:]
}

// joinPath joins a cleaned directory path and one component.
func joinPath(dir, name string) string {
	if dir == rootPath {
		return name
	}
	return dir + "/" + name
}

// parentPath returns the parent of a cleaned path; the root's parent is
// the root.
func parentPath(p string) string {
	if p == rootPath {
		return rootPath
	}
	parent, _ := splitPath(p)
	return parent
}

// isWithin reports whether the cleaned path p is dir or below it.
func isWithin(p, dir string) bool {
	if dir == rootPath || p == dir {
		return true
	}
	return strings.HasPrefix(p, dir) && len(p) > len(dir) && p[len(dir)] == '/'
}

// whiteoutKind classifies a cleaned name.
type whiteoutKind uint8

const (
	notWhiteout whiteoutKind = iota
	// plainWhiteout is ".wh.<name>": remove <name> from lower layers.
	plainWhiteout
	// opaqueMarker is ".wh..wh..opq": remove the lower children of its
	// directory.
	opaqueMarker
	// aufsMeta is aufs bookkeeping (".wh..wh.plnk", ".wh..wh.aufs",
	// ".wh..wh.orph" and anything below them) that old Docker layers carry;
	// it means nothing outside aufs and is skipped, as Docker does.
	aufsMeta
)

// classifyWhiteout looks at a cleaned path. For plainWhiteout, target is
// the path to remove; for opaqueMarker, the directory to make opaque. A
// whiteout whose remainder names nothing, the directory itself or its
// parent (".wh.", ".wh..", ".wh...") is ErrInvalidWhiteout, as is a ".wh."
// name used as a directory: such names are reserved (layer.md: "it is not
// possible to create a filesystem which has a file or directory with a name
// beginning with .wh.").
func classifyWhiteout(p string) (kind whiteoutKind, target string, err error) {
	if !strings.Contains(p, whiteoutPrefix) {
		return notWhiteout, "", nil // fast path: most names
	}
	dir, base := splitPath(p)
	if dir != rootPath {
		for _, comp := range strings.Split(dir, "/") {
			switch {
			case strings.HasPrefix(comp, whiteoutMetaPrefix):
				return aufsMeta, "", nil
			case strings.HasPrefix(comp, whiteoutPrefix):
				return notWhiteout, "", invalidWhiteout("%q is used as a directory in %q", comp, p)
			}
		}
	}
	switch {
	case !strings.HasPrefix(base, whiteoutPrefix):
		return notWhiteout, "", nil
	case base == opaqueWhiteout:
		return opaqueMarker, dir, nil
	case strings.HasPrefix(base, whiteoutMetaPrefix):
		return aufsMeta, "", nil
	}
	rest := base[len(whiteoutPrefix):]
	if rest == "" || rest == "." || rest == ".." {
		return notWhiteout, "", invalidWhiteout("%q names no file (image-spec layer.md)", p)
	}
	return plainWhiteout, joinPath(dir, rest), nil
}
