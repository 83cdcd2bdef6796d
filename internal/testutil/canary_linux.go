package testutil

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// Canary is the host side of an escape test (threats.md section 0): a temp
// dir $T holding the extraction root $T/dest, a victim $T/victim/hello
// (contents "host", mode 0400, mtime 2001-01-01, xattr user.sentinel=1 where
// the filesystem allows), a prefix sibling $T/dest-evil/secret, and a
// snapshot of everything outside $T/dest. Check asserts that nothing outside
// the root changed (INV-1, INV-2) and that no inode under the root is shared
// with one outside it (INV-3).
type Canary struct {
	// Base is $T.
	Base string
	// Root is $T/dest, the extraction root (created empty).
	Root string
	// Victim is $T/victim, a directory outside the root.
	Victim string
	// Hello is $T/victim/hello.
	Hello string
	// Sibling is $T/dest-evil, a directory whose name has Root as a prefix.
	Sibling string

	before map[string]nodeState
}

// VictimTime is the mtime planted on every canary file.
var VictimTime = time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC)

// NewCanary builds the layout in a fresh t.TempDir and snapshots it.
func NewCanary(t testing.TB) *Canary {
	t.Helper()
	base := t.TempDir()
	// t.TempDir is 0700; tests that drop privileges must be able to walk it.
	if err := os.Chmod(base, 0o755); err != nil {
		t.Fatal(err)
	}
	c := &Canary{
		Base:    base,
		Root:    filepath.Join(base, "dest"),
		Victim:  filepath.Join(base, "victim"),
		Hello:   filepath.Join(base, "victim", "hello"),
		Sibling: filepath.Join(base, "dest-evil"),
	}
	for _, d := range []string{c.Root, c.Victim, c.Sibling} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	plant := func(p string) {
		if err := os.WriteFile(p, []byte("host"), 0o400); err != nil {
			t.Fatal(err)
		}
		// Not every filesystem takes user xattrs (tmpfs before 6.6); the
		// snapshot records whatever is there either way.
		_ = unix.Setxattr(p, "user.sentinel", []byte("1"), 0)
		if err := os.Chtimes(p, VictimTime, VictimTime); err != nil {
			t.Fatal(err)
		}
	}
	plant(c.Hello)
	plant(filepath.Join(c.Sibling, "secret"))
	for _, d := range []string{c.Victim, c.Sibling} {
		if err := os.Chtimes(d, VictimTime, VictimTime); err != nil {
			t.Fatal(err)
		}
	}
	c.before = c.snapshot(t)
	return c
}

// Refresh re-takes the snapshot, for tests that deliberately change the
// outside (for example to plant links) before the operation under test.
func (c *Canary) Refresh(t testing.TB) { t.Helper(); c.before = c.snapshot(t) }

type nodeState struct {
	mode   uint32
	uid    uint32
	gid    uint32
	nlink  uint64
	size   int64
	mtime  int64
	dev    uint64
	ino    uint64
	link   string
	sum    [32]byte
	xattrs string
}

func (c *Canary) snapshot(t testing.TB) map[string]nodeState {
	t.Helper()
	m := map[string]nodeState{}
	err := filepath.WalkDir(c.Base, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == c.Root {
			return fs.SkipDir
		}
		var st unix.Stat_t
		if err := unix.Lstat(p, &st); err != nil {
			return err
		}
		ns := nodeState{
			mode: st.Mode, uid: st.Uid, gid: st.Gid, nlink: st.Nlink, size: st.Size,
			mtime: st.Mtim.Nano(), dev: st.Dev, ino: st.Ino,
		}
		// A directory's mtime changes when tests legitimately add entries
		// inside Base, which only happens at Base itself (dest is created
		// up front); for Base we compare names only.
		if p == c.Base {
			ns.mtime, ns.nlink = 0, 0
		}
		switch st.Mode & unix.S_IFMT {
		case unix.S_IFLNK:
			ns.link, _ = os.Readlink(p)
		case unix.S_IFREG:
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			ns.sum = sha256.Sum256(b)
		}
		ns.xattrs = listXattrs(p)
		rel, _ := filepath.Rel(c.Base, p)
		m[rel] = ns
		return nil
	})
	if err != nil {
		t.Fatalf("canary snapshot: %v", err)
	}
	return m
}

func listXattrs(p string) string {
	buf := make([]byte, 64<<10)
	n, err := unix.Llistxattr(p, buf)
	if err != nil {
		return ""
	}
	names := strings.Split(strings.TrimRight(string(buf[:n]), "\x00"), "\x00")
	sort.Strings(names)
	var b bytes.Buffer
	for _, name := range names {
		if name == "" {
			continue
		}
		v := make([]byte, 64<<10)
		vn, err := unix.Lgetxattr(p, name, v)
		if err != nil {
			vn = 0
		}
		fmt.Fprintf(&b, "%s=%q;", name, v[:vn])
	}
	return b.String()
}

// Check fails the test if anything outside the root changed (INV-1, INV-2) or
// if an inode under the root is also reachable outside it (INV-3).
func (c *Canary) Check(t testing.TB) {
	t.Helper()
	after := c.snapshot(t)
	outside := map[[2]uint64]string{}
	for name, b := range c.before {
		a, ok := after[name]
		if !ok {
			t.Errorf("HOST PATH WAS CHANGED! THIS IS A PATH ESCAPE! %s was removed", name)
			continue
		}
		if a != b {
			t.Errorf("HOST PATH WAS CHANGED! THIS IS A PATH ESCAPE! %s: before %+v, after %+v", name, b, a)
		}
		outside[[2]uint64{a.dev, a.ino}] = name
	}
	for name := range after {
		if _, ok := c.before[name]; !ok {
			t.Errorf("HOST PATH WAS CHANGED! THIS IS A PATH ESCAPE! %s appeared outside the root", name)
		}
	}
	// INV-3: walk the root (it may be unreadable in places; skip those).
	_ = filepath.WalkDir(c.Root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrPermission) {
				return nil
			}
			return nil
		}
		var st unix.Stat_t
		if unix.Lstat(p, &st) != nil {
			return nil
		}
		if name, ok := outside[[2]uint64{st.Dev, st.Ino}]; ok {
			t.Errorf("HOST PATH WAS CHANGED! THIS IS A PATH ESCAPE! %s shares its inode with %s outside the root", p, name)
		}
		return nil
	})
}
