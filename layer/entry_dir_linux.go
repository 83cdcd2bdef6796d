package layer

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"

	"github.com/safeunpack/safeunpack/pathrs"
)

// dir applies a directory entry. A directory already there is kept with
// its children and takes the entry's metadata (image-spec: its attributes
// "MUST be replaced"); anything else there, a symlink to a directory
// included, is removed first and a real directory created (containerd's
// DirectoryOverrideSymlink).
func (a *applier) dir(d *pathrs.Dir, e *entry) error {
	// A directory's mode may change here (merged over an existing one):
	// forget the modes the parent cache knows.
	a.parents.forgetModes()
	merged := false
	for attempt := 1; ; attempt++ {
		err := a.withAccess(func() error { return d.Mkdir(e.name, 0o700) }, e.parent)
		if err == nil {
			break
		}
		if !errors.Is(err, unix.EEXIST) || attempt == maxReplaceAttempts {
			return fmt.Errorf("mkdir: %w", err)
		}
		st, err := d.Lstat(e.name)
		if err == nil && st.Mode&unix.S_IFMT == unix.S_IFDIR {
			merged = true
			break
		}
		if err := a.removeExisting(d, e); err != nil {
			return err
		}
	}
	if merged {
		if err := a.trackMerged(e.path, func() (*pathrs.Dir, error) { return d.OpenDir(e.name) }); err != nil {
			return err
		}
	} else if err := a.track.createdDir(e.path, true); err != nil {
		return err
	}
	if err := a.applyMetadata(nameTarget(d, e.name, kindDir), e, merged); err != nil {
		return err
	}
	a.res.Counts.Dirs++
	return a.recordTimes(e)
}

// rootEntry applies the metadata of a directory entry naming the root
// itself ("./", "/"). Any other type for the root was refused by
// parseEntry (CVE-2021-29136): the root is a descriptor opened once and is
// never replaced.
func (a *applier) rootEntry(e *entry) error {
	a.parents.forgetModes()
	if err := a.times.enter(rootPath); err != nil {
		return err
	}
	if err := a.trackMerged(rootPath, func() (*pathrs.Dir, error) { return a.root.Dir() }); err != nil {
		return err
	}
	if err := a.applyMetadata(nameTarget(a.rootDir, "", kindDir), e, true); err != nil {
		return err
	}
	a.res.Counts.Dirs++
	return a.recordTimes(e)
}

// trackMerged records a directory entry applied over an existing
// directory. One this layer has not touched yet is checked for emptiness
// first: an empty one has no lower children and counts as new.
func (a *applier) trackMerged(p string, open func() (*pathrs.Dir, error)) error {
	if a.track.get(p) == 0 {
		if child, err := open(); err == nil {
			empty, err := child.IsEmpty()
			_ = child.Close()
			if err == nil && empty {
				return a.track.createdDir(p, true)
			}
		}
	}
	return a.track.mergedDir(p)
}

// recordTimes remembers a directory's times, to restore them once its
// children have been written.
func (a *applier) recordTimes(e *entry) error {
	atime, mtime := entryTimes(e)
	return a.times.record(e.path, stamp{atime: atime, mtime: mtime})
}

// restoreTimes re-applies a directory's recorded times (dirTimes calls it
// when the stream has left the directory, or at the end of the layer). The
// path is resolved again: its parent in the root, the name itself never
// followed. A directory that is gone or was replaced is skipped. In
// rootless mode a parent closed again to its owner is opened up for it
// (withAccess).
func (a *applier) restoreTimes(p string, st stamp) error {
	if p == rootPath {
		return a.rootDir.Utimes("", st.atime, st.mtime)
	}
	return a.withAccess(func() error { return a.restoreTimesAt(p, st) }, parentPath(p))
}

// restoreTimesAt is restoreTimes for a path other than the root.
func (a *applier) restoreTimesAt(p string, st stamp) error {
	parent, name := splitPath(p)
	d, err := a.lookupDir(parent)
	if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ENOTDIR) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("directory %s: %w", quoteName(p), resolveError(err))
	}
	fi, err := d.Lstat(name)
	if errors.Is(err, unix.ENOENT) || (err == nil && fi.Mode&unix.S_IFMT != unix.S_IFDIR) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("directory %s: %w", quoteName(p), err)
	}
	if err := d.Utimes(name, st.atime, st.mtime); err != nil {
		return fmt.Errorf("directory %s: set times: %w", quoteName(p), err)
	}
	return nil
}
