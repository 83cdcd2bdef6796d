package layer

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"

	"github.com/safeunpack/safeunpack/pathrs"
)

// maxReplaceAttempts bounds create / remove-what-is-there / create again
// when something keeps reappearing at the name (a concurrent process inside
// the root); the entry then fails with EEXIST instead of looping.
const maxReplaceAttempts = 4

// createReplacing runs create, which must fail with EEXIST when anything
// is at e's name (every pathrs creation does: O_EXCL, mkdirat, symlinkat,
// linkat, mknodat). On EEXIST what is there is removed and create runs
// again. An existing regular file is therefore replaced by a new inode,
// never truncated or written in place: other hard links to it (possibly
// into a lower layer, or planted to a host file) keep their contents, and
// a FIFO or device at the name is never opened (threats.md T14, T21).
//
// In rootless mode a creation refused with EACCES (a directory whose mode
// denies its owner access) is retried once after opening up the parent,
// and for a hard link the target's parent (withAccess).
func (a *applier) createReplacing(d *pathrs.Dir, e *entry, create func() error) error {
	linkParent := e.parent
	if e.kind == kindHardlink {
		linkParent = parentPath(e.target)
	}
	for attempt := 1; ; attempt++ {
		err := a.withAccess(create, e.parent, linkParent)
		if !errors.Is(err, unix.EEXIST) || attempt == maxReplaceAttempts {
			return err
		}
		if err := a.removeExisting(d, e); err != nil {
			return err
		}
	}
}

// removeExisting removes whatever is at e's name in d without following
// it: unlink for files, symlinks and special files, a descriptor-based
// recursive removal for directories. Removing a directory or a symlink can
// change what paths resolve to, so the parent cache is emptied.
func (a *applier) removeExisting(d *pathrs.Dir, e *entry) error {
	st, err := d.Lstat(e.name)
	if errors.Is(err, unix.ENOENT) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("replace: %w", err)
	}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFDIR:
		a.parents.invalidate()
		a.times.forget(e.path)
		err = a.withAccess(func() error { return d.RemoveAll(e.name) }, e.parent)
	case unix.S_IFLNK:
		a.parents.invalidate()
		err = a.withAccess(func() error { return d.Remove(e.name) }, e.parent)
	default:
		err = a.withAccess(func() error { return d.Remove(e.name) }, e.parent)
	}
	if err != nil && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("replace existing %s: %w", modeKind(st.Mode), err)
	}
	return nil
}

// modeKind names the file type of a st_mode, for messages.
func modeKind(mode uint32) string {
	switch mode & unix.S_IFMT {
	case unix.S_IFREG:
		return "file"
	case unix.S_IFDIR:
		return "directory"
	case unix.S_IFLNK:
		return "symlink"
	case unix.S_IFCHR:
		return "character device"
	case unix.S_IFBLK:
		return "block device"
	case unix.S_IFIFO:
		return "fifo"
	case unix.S_IFSOCK:
		return "socket"
	}
	return "unknown"
}
