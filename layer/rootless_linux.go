package layer

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"

	"github.com/safeunpack/safeunpack/pathrs"
)

// rootlessState is what a rootless Apply keeps besides the common state:
// counts for the end-of-layer summary lines and the directories opened up
// for the owner (grants, modes_linux.go).
type rootlessState struct {
	// placeholders are device entries created as empty regular files.
	placeholders tally
	// unrecorded are symlinks and FIFOs whose owner could not be recorded
	// (the kernel refuses user.* xattrs on them).
	unrecorded tally
	// unsupported are entries whose owner could not be recorded because
	// the filesystem has no user.* xattrs.
	unsupported tally
	grants      grants
	// grantLogged is set once the first grant of the layer was logged.
	grantLogged bool
}

// tally counts entries of one kind and remembers the first, for a summary
// line.
type tally struct {
	n     int
	first string
}

func (t *tally) add(first func() string) {
	if t.n++; t.n == 1 {
		t.first = first()
	}
}

// Summary lines of a rootless layer, at most one of each per layer, each
// preceded by its count and followed by the first entry concerned.
const (
	warnPlaceholders = "device nodes created as empty regular files (rootless: mknod of a device needs CAP_MKNOD " +
		"in the initial user namespace); their mode, owner and times are the image's, and a runtime can " +
		"bind-mount the real device there"
	warnUnrecorded = "symlinks and FIFOs keep the unpacking user as owner: the kernel refuses the user.* xattr " +
		"that would record the image's owner on them (umoci ignores the same EPERM)"
	warnOwnerNotSupported = "entries keep the unpacking user as owner: the filesystem does not support the user.* " +
		"xattr that would record the image's owner"
)

func newRootlessState() *rootlessState { return &rootlessState{} }

// applyMetadataRootless is applyMetadata for a process that cannot chown
// freely. The order differs from the privileged one because user.* xattrs
// need write permission on the inode, which the image's mode may deny its
// owner (/etc/gshadow is 0000): owner (chown what can be, record the rest
// in RootlessXattr), then the image's xattrs, then the mode, then times.
// chown still precedes the mode, so setuid and setgid survive where the
// kernel lets the owner set them, and precedes security.capability, which
// chown would clear. A directory that already existed (a merge) is opened
// up first if its current mode denies us, since its xattrs are rewritten.
func (a *applier) applyMetadataRootless(t target, e *entry, merged bool) error {
	var st unix.Stat_t
	if merged && t.kind == kindDir {
		var err error
		if st, err = t.dir.Lstat(t.name); err != nil {
			return fmt.Errorf("stat: %w", err)
		}
		if int(st.Uid) == a.cfg.euid && st.Mode&0o700 != 0o700 {
			if err := t.chmod(st.Mode&0o7777 | 0o700); err != nil {
				return fmt.Errorf("chmod %#o: %w", st.Mode&0o7777|0o700, err)
			}
		}
	}
	if err := a.rootlessOwner(t, e, merged); err != nil {
		return err
	}
	if err := a.applyXattrs(t, e, merged); err != nil {
		return err
	}
	if t.kind != kindSymlink {
		mode := e.mode
		if merged && t.kind == kindDir && a.rl.grants.update(st.Dev, st.Ino, e.mode) {
			// Opened up for entries still to come: the image's mode is
			// given back with the grant.
			mode |= 0o700
		}
		if err := t.chmod(mode); err != nil {
			return fmt.Errorf("chmod %#o: %w", mode, err)
		}
	}
	atime, mtime := entryTimes(e)
	if err := t.utimes(atime, mtime); err != nil {
		return fmt.Errorf("set times: %w", err)
	}
	return nil
}

// rootlessOwner applies the part of the entry's owner the process can
// apply and records the rest. An id inside the configured map (by default
// container id 0, standing for the process itself; in a user namespace,
// every id its uid_map or gid_map holds) is applied with chown and recorded
// as NoopID; any other id is recorded as the image has it. This is umoci's
// rule, byte for byte: 1000:1000 is recorded 08 e8 07 10 e8 07, 0:1000 as
// 08 ff ff ff ff 0f 10 e8 07, and 0:0 is not recorded at all (docs/rootless.md
// has the evidence). When the kernel refuses a chown anyway (EPERM, or
// EINVAL for an id the namespace does not map), those ids are recorded
// too.
func (a *applier) rootlessOwner(t target, e *entry, merged bool) error {
	rec := RecordedOwner{UID: NoopID, GID: NoopID}
	uid, uok := a.cfg.uids.lookup(e.uid)
	gid, gok := a.cfg.gids.lookup(e.gid)
	if !uok {
		rec.UID, uid = uint32(e.uid), -1
	}
	if !gok {
		rec.GID, gid = uint32(e.gid), -1
	}
	if uid != -1 || gid != -1 {
		err := t.chown(uid, gid)
		switch {
		case err == nil:
		case errors.Is(err, unix.EPERM) || errors.Is(err, unix.EINVAL):
			if uid != -1 {
				rec.UID = uint32(e.uid)
			}
			if gid != -1 {
				rec.GID = uint32(e.gid)
			}
		default:
			return fmt.Errorf("chown %d:%d: %w", uid, gid, err)
		}
	}
	return a.recordOwner(t, e, rec, merged)
}

// recordOwner writes rec to RootlessXattr, or, when rec overrides nothing,
// removes a stale record a merged directory may carry from a lower layer.
// Symlinks and FIFOs cannot carry user.* xattrs; a filesystem without them
// cannot either: both are counted for one summary line per layer.
func (a *applier) recordOwner(t target, e *entry, rec RecordedOwner, merged bool) error {
	if rec.Noop() {
		if !merged {
			return nil
		}
		err := t.dir.Lremovexattr(t.name, RootlessXattr)
		if err == nil || errors.Is(err, unix.ENODATA) || errors.Is(err, unix.ENOTSUP) {
			return nil
		}
		return fmt.Errorf("remove stale %s: %w", RootlessXattr, err)
	}
	first := func() string { return fmt.Sprintf("%s (%d:%d)", quoteName(e.hdr.Name), e.uid, e.gid) }
	if t.kind == kindSymlink || t.kind == kindFifo {
		a.rl.unrecorded.add(first)
		return nil
	}
	err := t.setxattr(RootlessXattr, rec.Marshal())
	switch {
	case err == nil:
		return nil
	case errors.Is(err, unix.ENOTSUP) || errors.Is(err, unix.EOPNOTSUPP):
		a.rl.unsupported.add(first)
		return nil
	}
	return fmt.Errorf("record owner %d:%d in %s: %w", e.uid, e.gid, RootlessXattr, err)
}

// placeholder creates, for a device entry in rootless mode, an empty
// regular file where the device would be, as umoci does: the path exists
// (a runtime can bind-mount the real device over it, and a later layer's
// whiteout finds it), and its owner and mode are recorded like any file's.
// Nothing of the device number survives but the warning.
func (a *applier) placeholder(d *pathrs.Dir, ps parentState, e *entry) (err error) {
	var f *newFile
	err = a.createReplacing(d, e, func() error {
		var cerr error
		f, cerr = createFile(d, e.name)
		return cerr
	})
	if err != nil {
		return fmt.Errorf("create placeholder for %s: %w", e.kind, err)
	}
	defer func() {
		if cerr := f.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("close: %w", cerr)
		}
	}()
	if err := a.track.createdNonDir(e.path, ps); err != nil {
		return err
	}
	a.res.Counts.Devices++
	a.rl.placeholders.add(func() string {
		return fmt.Sprintf("%s (%s %d:%d)", quoteName(e.hdr.Name), e.kind, e.hdr.Devmajor, e.hdr.Devminor)
	})
	return a.applyMetadata(fileTarget(f), e, false)
}

// finishRootless ends a rootless layer: every directory opened up gets its
// image mode back, and each kind of summary line is logged once, with its
// count.
func (a *applier) finishRootless() error {
	if err := a.rl.grants.restore(func(grant) bool { return true }); err != nil {
		return err
	}
	for _, s := range []struct {
		t    tally
		kind string
	}{{a.rl.placeholders, warnPlaceholders}, {a.rl.unrecorded, warnUnrecorded}, {a.rl.unsupported, warnOwnerNotSupported}} {
		if s.t.n > 0 {
			a.warn.summary(fmt.Sprintf("%d %s; first: %s", s.t.n, s.kind, s.t.first))
		}
	}
	return nil
}

// summary records a warning line that already says how often it happened,
// and logs it once.
func (w *warnings) summary(msg string) {
	key := "summary: " + msg
	w.count[key] = 1
	w.order = append(w.order, key)
	w.first[key] = msg
	w.logger.Warn("layer: " + msg)
}
