package layer

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"golang.org/x/sys/unix"
)

// rootlessView describes the tree under root as a rootless consumer sees
// it, one line per entry below root, sorted by path:
//
//	"dir locked 0000 0:0"
//	"file etc/gshadow 0000 0:42 g2"
//	"symlink home/u/link 0777 0:0 -> notes"
//	"fifo run/fifo 0600 0:0"
//
// The owner is the image's: the owner on disk seen from the container
// (hostUID and hostGID, the unpacking user, are container root; other ids
// are what a user namespace chowned to) with the RootlessXattr record
// applied. A record that overrides nothing is an error (umoci leaves the
// attribute out then), and so is an undecodable one. Unless run by root,
// the walk opens up directories and files the image made unreadable to
// their owner (u+rwx, u+r): it is a test's tree, inspected once.
func rootlessView(t testing.TB, root string, hostUID, hostGID uint32) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		var st unix.Stat_t
		if err := unix.Lstat(p, &st); err != nil {
			return err
		}
		mode := st.Mode & 0o7777
		typ := st.Mode & unix.S_IFMT
		if os.Geteuid() != 0 && (typ == unix.S_IFDIR && mode&0o700 != 0o700 || typ == unix.S_IFREG && mode&0o600 != 0o600) {
			if err := os.Chmod(p, os.FileMode(mode|0o700)); err != nil {
				return err
			}
		}
		if p == root {
			return nil
		}
		rel, _ := filepath.Rel(root, p)
		uid, gid := st.Uid, st.Gid
		if uid == hostUID {
			uid = 0
		}
		if gid == hostGID {
			gid = 0
		}
		if typ == unix.S_IFREG || typ == unix.S_IFDIR {
			buf := make([]byte, 64)
			n, err := unix.Lgetxattr(p, RootlessXattr, buf)
			switch {
			case errors.Is(err, unix.ENODATA):
			case err != nil:
				return fmt.Errorf("getxattr %s: %w", rel, err)
			default:
				rec, err := ParseRecordedOwner(buf[:n])
				if err != nil {
					return fmt.Errorf("%s: %w", rel, err)
				}
				if rec.Noop() {
					return fmt.Errorf("%s: a record that overrides nothing (%x)", rel, buf[:n])
				}
				uid, gid = rec.Apply(uid, gid)
			}
		}
		line := fmt.Sprintf("%s %04o %d:%d", rel, mode, uid, gid)
		switch typ {
		case unix.S_IFDIR:
			line = "dir " + line
		case unix.S_IFREG:
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			line = "file " + line
			if len(b) > 0 {
				line += " " + string(b)
			}
		case unix.S_IFLNK:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			line = "symlink " + line + " -> " + target
		case unix.S_IFIFO:
			line = "fifo " + line
		default:
			line = fmt.Sprintf("other %s %o", line, st.Mode)
		}
		out = append(out, line)
		return nil
	})
	if err != nil {
		t.Fatalf("rootlessView %s: %v", root, err)
	}
	sort.Strings(out)
	return out
}

// assertLines compares two sorted descriptions.
func assertLines(t testing.TB, what string, got, want []string) {
	t.Helper()
	sort.Strings(want)
	g, w := fmt.Sprintf("%q", got), fmt.Sprintf("%q", want)
	if g == w {
		return
	}
	missing, extra := map[string]bool{}, []string{}
	for _, l := range want {
		missing[l] = true
	}
	for _, l := range got {
		if missing[l] {
			delete(missing, l)
		} else {
			extra = append(extra, l)
		}
	}
	var m []string
	for l := range missing {
		m = append(m, l)
	}
	sort.Strings(m)
	t.Errorf("%s differs:\nunexpected:\n\t%q\nmissing:\n\t%q", what, extra, m)
}
