package layer

import (
	"errors"
	"fmt"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/safeunpack/safeunpack/internal/testutil"
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
	return testutil.OwnerTree(t, root, func(p string, st *unix.Stat_t) (uint32, uint32, error) {
		uid, gid := st.Uid, st.Gid
		if uid == hostUID {
			uid = 0
		}
		if gid == hostGID {
			gid = 0
		}
		typ := st.Mode & unix.S_IFMT
		if typ != unix.S_IFREG && typ != unix.S_IFDIR {
			return uid, gid, nil
		}
		buf := make([]byte, 64)
		n, err := unix.Lgetxattr(p, RootlessXattr, buf)
		switch {
		case errors.Is(err, unix.ENODATA):
			return uid, gid, nil
		case err != nil:
			return 0, 0, fmt.Errorf("getxattr: %w", err)
		}
		rec, err := ParseRecordedOwner(buf[:n])
		if err != nil {
			return 0, 0, err
		}
		if rec.Noop() {
			return 0, 0, fmt.Errorf("a record that overrides nothing (%x)", buf[:n])
		}
		uid, gid = rec.Apply(uid, gid)
		return uid, gid, nil
	})
}

// assertLines compares two sorted descriptions.
func assertLines(t testing.TB, what string, got, want []string) {
	t.Helper()
	testutil.AssertLines(t, what, got, want)
}
