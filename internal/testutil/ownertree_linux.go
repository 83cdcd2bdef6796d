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

// OwnerFunc returns the owner a test wants reported for p (for example the
// owner on disk seen from a user namespace, with a recorded-ownership
// xattr applied).
type OwnerFunc func(p string, st *unix.Stat_t) (uid, gid uint32, err error)

// WalkOpened calls fn, in lexical order, for every entry below root with
// its path, its path relative to root and its lstat. Unless run by root it
// first opens up directories and files the tree made unreadable to their
// owner (u+rwx), so that a test can inspect a tree an image locked down:
// the tree is a test's, inspected once.
func WalkOpened(root string, fn func(p, rel string, st *unix.Stat_t) error) error {
	return filepath.WalkDir(root, func(p string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		var st unix.Stat_t
		if err := unix.Lstat(p, &st); err != nil {
			return err
		}
		mode, typ := st.Mode&0o7777, st.Mode&unix.S_IFMT
		if os.Geteuid() != 0 && (typ == unix.S_IFDIR && mode&0o700 != 0o700 || typ == unix.S_IFREG && mode&0o600 != 0o600) {
			if err := os.Chmod(p, os.FileMode(mode|0o700)); err != nil {
				return err
			}
		}
		if p == root {
			return nil
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		return fn(p, rel, &st)
	})
}

// OwnerTree describes the tree under root one line per entry below root,
// sorted by path, with owners:
//
//	"dir locked 0000 0:0"
//	"file etc/gshadow 0000 0:42 contents"
//	"symlink home/u/link 0777 0:0 -> notes"
//	"fifo run/fifo 0600 0:0"
//	"char dev/null 0666 0:0 1 3"
//
// owner decides the uid:gid shown. The walk is WalkOpened's.
func OwnerTree(t testing.TB, root string, owner OwnerFunc) []string {
	t.Helper()
	var out []string
	err := WalkOpened(root, func(p, rel string, st *unix.Stat_t) error {
		mode, typ := st.Mode&0o7777, st.Mode&unix.S_IFMT
		uid, gid, err := owner(p, st)
		if err != nil {
			return fmt.Errorf("%s: %w", rel, err)
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
		case unix.S_IFCHR:
			line = fmt.Sprintf("char %s %d %d", line, unix.Major(st.Rdev), unix.Minor(st.Rdev))
		case unix.S_IFBLK:
			line = fmt.Sprintf("block %s %d %d", line, unix.Major(st.Rdev), unix.Minor(st.Rdev))
		case unix.S_IFIFO:
			line = "fifo " + line
		default:
			line = fmt.Sprintf("other %s %o", line, st.Mode)
		}
		out = append(out, line)
		return nil
	})
	if err != nil {
		t.Fatalf("OwnerTree %s: %v", root, err)
	}
	sort.Strings(out)
	return out
}

// AssertLines compares the sorted lines got (from ListTree or OwnerTree)
// with want, reporting each missing and each unexpected line.
func AssertLines(t testing.TB, what string, got, want []string) {
	t.Helper()
	want = append([]string(nil), want...)
	sort.Strings(want)
	if fmt.Sprint(got) == fmt.Sprint(want) {
		return
	}
	have := map[string]bool{}
	for _, l := range got {
		have[l] = true
	}
	for _, l := range want {
		if !have[l] {
			t.Errorf("%s: missing %q", what, l)
		}
		delete(have, l)
	}
	var extra []string
	for l := range have {
		extra = append(extra, l)
	}
	sort.Strings(extra)
	for _, l := range extra {
		t.Errorf("%s: unexpected %q", what, l)
	}
}

// StatTree returns the lstat of every entry below root, keyed by path
// relative to root.
func StatTree(t testing.TB, root string) map[string]unix.Stat_t {
	t.Helper()
	got := map[string]unix.Stat_t{}
	err := filepath.WalkDir(root, func(p string, _ fs.DirEntry, err error) error {
		if err != nil || p == root {
			return err
		}
		var st unix.Stat_t
		if err := unix.Lstat(p, &st); err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		got[rel] = st
		return nil
	})
	if err != nil {
		t.Fatalf("StatTree %s: %v", root, err)
	}
	return got
}
