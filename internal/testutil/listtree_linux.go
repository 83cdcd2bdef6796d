package testutil

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"golang.org/x/sys/unix"
)

// ListTree describes the tree under root in the spec DSL of MakeTree, one
// line per entry below root, sorted by path:
//
//	"dir a 0755"
//	"file a/f 0644 hello"
//	"symlink a/l -> /etc"
//	"fifo a/p 0644"
//	"char a/c 0600 1 3"
//
// Modes are the permission, setuid, setgid and sticky bits. It is the
// oracle of tree-shaped tests: compare it with the expected spec.
func ListTree(t testing.TB, root string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == root {
			return nil
		}
		rel, _ := filepath.Rel(root, p)
		var st unix.Stat_t
		if err := unix.Lstat(p, &st); err != nil {
			return err
		}
		mode := st.Mode & 0o7777
		switch st.Mode & unix.S_IFMT {
		case unix.S_IFDIR:
			out = append(out, fmt.Sprintf("dir %s %04o", rel, mode))
		case unix.S_IFREG:
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			line := fmt.Sprintf("file %s %04o", rel, mode)
			if len(b) > 0 {
				line += " " + string(b)
			}
			out = append(out, line)
		case unix.S_IFLNK:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			out = append(out, fmt.Sprintf("symlink %s -> %s", rel, target))
		case unix.S_IFIFO:
			out = append(out, fmt.Sprintf("fifo %s %04o", rel, mode))
		case unix.S_IFCHR, unix.S_IFBLK:
			kind := "char"
			if st.Mode&unix.S_IFMT == unix.S_IFBLK {
				kind = "block"
			}
			out = append(out, fmt.Sprintf("%s %s %04o %d %d", kind, rel, mode, unix.Major(st.Rdev), unix.Minor(st.Rdev)))
		default:
			out = append(out, fmt.Sprintf("other %s %o", rel, st.Mode))
		}
		return nil
	})
	if err != nil {
		t.Fatalf("ListTree %s: %v", root, err)
	}
	sort.Strings(out)
	return out
}
