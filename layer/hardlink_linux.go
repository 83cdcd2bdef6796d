package layer

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"

	"github.com/safeunpack/safeunpack/pathrs"
)

// hardlink applies a hard-link entry. The target is the cleaned link name,
// resolved by pathrs in the same root: absolute names are re-rooted, not
// rejected (kaniko writes them, go-archive#99), ".." is clamped, symlinks
// among its parents are followed inside the root, and its final component
// is never followed, so a link to a symlink links the symlink itself
// (containerd HardlinkSymlink*). A target that does not exist yet is an
// error (the archive is invalid: a link must follow its target, or point
// into a lower layer); directories cannot be linked.
//
// No metadata is applied: the inode is shared with the target, possibly a
// lower-layer file, and the header's owner and mode describe that file
// anyway. Changing them through the link is how CVE-2021-32760 changed a
// host file's mode (threats.md T11, T13).
func (a *applier) hardlink(d *pathrs.Dir, ps parentState, e *entry) error {
	if e.target == e.path {
		// A link to itself: nothing to do if the file exists.
		if _, err := d.Lstat(e.name); err != nil {
			return fmt.Errorf("hard link to itself: %w", err)
		}
		a.res.Counts.Hardlinks++
		return nil
	}
	err := a.createReplacing(d, e, func() error { return d.Hardlink(e.name, e.target) })
	switch {
	case err == nil:
	case errors.Is(err, unix.ENOENT):
		return fmt.Errorf("hard link to %s: the target does not exist (it must come earlier in the layer or from a lower layer): %w",
			quoteName(e.hdr.Linkname), err)
	case errors.Is(err, unix.EPERM):
		return fmt.Errorf("hard link to %s: refused (a directory, or protected_hardlinks for a file of another user): %w",
			quoteName(e.hdr.Linkname), err)
	default:
		return fmt.Errorf("hard link to %s: %w", quoteName(e.hdr.Linkname), resolveError(err))
	}
	if err := a.track.createdNonDir(e.path, ps); err != nil {
		return err
	}
	a.res.Counts.Hardlinks++
	return nil
}
