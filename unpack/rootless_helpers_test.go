package unpack

import (
	"errors"
	"fmt"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/safeunpack/safeunpack/internal/testutil"
	"github.com/safeunpack/safeunpack/layer"
)

// ownerView describes the tree under root one line per entry, sorted:
// "type path mode uid:gid [contents]" ("char path mode uid:gid major minor"
// for devices). With decode, the owner is the one a rootless consumer
// sees: the owner on disk seen from the container (toContainer) with the
// layer.RootlessXattr record applied; a record overriding nothing is an
// error. Without decode, it is the owner on disk and a record is an error. Unless run by root the walk opens up what the image made
// unreadable to its owner: it is a test's tree, inspected once.
func ownerView(t testing.TB, root string, decode bool, toContainer func(uint32) uint32) []string {
	t.Helper()
	return testutil.OwnerTree(t, root, func(p string, st *unix.Stat_t) (uint32, uint32, error) {
		return viewOwner(p, st, decode, toContainer)
	})
}

// viewOwner is the owner ownerView reports for p.
func viewOwner(p string, st *unix.Stat_t, decode bool, toContainer func(uint32) uint32) (uint32, uint32, error) {
	uid, gid := st.Uid, st.Gid
	rec, found, err := recordedOwner(p)
	switch {
	case err != nil:
		return 0, 0, err
	case found && !decode:
		return 0, 0, fmt.Errorf("unexpected %s record %+v", layer.RootlessXattr, rec)
	case !decode:
		return uid, gid, nil
	case found && rec.Noop():
		return 0, 0, fmt.Errorf("a %s record that overrides nothing", layer.RootlessXattr)
	}
	uid, gid = toContainer(uid), toContainer(gid)
	if found {
		uid, gid = rec.Apply(uid, gid)
	}
	return uid, gid, nil
}

// recordedOwner reads and decodes p's layer.RootlessXattr.
func recordedOwner(p string) (layer.RecordedOwner, bool, error) {
	buf := make([]byte, 64)
	n, err := unix.Lgetxattr(p, layer.RootlessXattr, buf)
	if errors.Is(err, unix.ENODATA) || errors.Is(err, unix.EPERM) || errors.Is(err, unix.ENOTSUP) {
		return layer.RecordedOwner{}, false, nil
	}
	if err != nil {
		return layer.RecordedOwner{}, false, err
	}
	rec, err := layer.ParseRecordedOwner(buf[:n])
	return rec, true, err
}

// caller maps the unpacking user's host id to container root, as a
// rootless user namespace of one id does.
func caller(host uint32) func(uint32) uint32 {
	return func(id uint32) uint32 {
		if id == host {
			return 0
		}
		return id
	}
}

// shifted maps the host ids from base to container ids from 0, as a user
// namespace of a subordinate id range does.
func shifted(base, size uint32) func(uint32) uint32 {
	return func(id uint32) uint32 {
		if id >= base && id-base < size {
			return id - base
		}
		return id
	}
}

// assertView compares an ownerView with the expected lines.
func assertView(t testing.TB, what string, got, want []string) {
	t.Helper()
	testutil.AssertLines(t, what, got, want)
}
