package layer

import (
	"errors"
	"fmt"
	"time"

	"golang.org/x/sys/unix"

	"github.com/safeunpack/safeunpack/internal/linux"
	"github.com/safeunpack/safeunpack/pathrs"
)

// target is what metadata is applied to: a regular file through the
// descriptor we created it with (fchown, fchmod, fsetxattr, futimens: no
// path at all), or a name in a resolved directory ("" for the directory
// itself) through pathrs, which never follows the final component.
type target struct {
	f    *newFile
	dir  *pathrs.Dir
	name string
	// kind decides what applies: no mode for symlinks, and which xattr
	// failures the kernel imposes (user.* is refused on symlinks and
	// special files).
	kind entryKind
	// uid and gid, when known (fresh), are the owner the inode already
	// has: a file we just created belongs to us. A chown to exactly that
	// owner is skipped, one system call per file for the common image
	// whose files are root's and an unpack as root.
	fresh    bool
	uid, gid int
}

func fileTarget(f *newFile) target { return target{f: f, kind: kindFile} }

// freshFileTarget is fileTarget for a file this Apply created a moment ago
// in a directory whose setgid bit is setgid.
func (a *applier) freshFileTarget(f *newFile, setgid bool) target {
	t := fileTarget(f)
	t.fresh, t.uid, t.gid = !setgid, a.cfg.euid, a.cfg.egid
	return t
}

func nameTarget(d *pathrs.Dir, name string, kind entryKind) target {
	return target{dir: d, name: name, kind: kind}
}

// withFd runs fn with the file's descriptor.
func (t target) withFd(fn func(fd int) error) error { return fn(t.f.fd) }

// applyMetadata applies an entry's metadata in the only safe order:
// ownership first (chown clears setuid, setgid and security.capability),
// then the mode (exact, independent of the umask), then xattrs, then times
// (last, since the other steps do not touch mtime but a later write would).
// merged reports a directory entry over an existing directory: xattrs it
// has that the entry lacks are removed ("attributes MUST be replaced").
func (a *applier) applyMetadata(t target, e *entry, merged bool) error {
	if a.rl != nil {
		return a.applyMetadataRootless(t, e, merged)
	}
	m, err := a.metadataOf(t, e)
	if err != nil {
		return err
	}
	return m.apply(t, func() error { return a.applyXattrs(t, e, merged) })
}

// metadata is what a privileged Apply sets on one inode, decided from the
// entry before any of it is applied: mapping the owner can fail
// (ErrUnmappedID), setting it all only with system call errors. The
// fileWriter applies it on its own goroutine.
type metadata struct {
	chown    bool
	uid, gid int
	mode     uint32
	setMode  bool
	atime    time.Time
	mtime    time.Time
}

// metadataOf maps e's owner and decides what t needs: no chown when t
// already has that owner (a file we just created belongs to us, so the
// common image of root's files unpacked as root saves one system call per
// file), no mode for a symlink.
func (a *applier) metadataOf(t target, e *entry) (metadata, error) {
	uid, err := a.cfg.uids.toHost(e.uid)
	if err != nil {
		return metadata{}, err
	}
	gid, err := a.cfg.gids.toHost(e.gid)
	if err != nil {
		return metadata{}, err
	}
	m := metadata{uid: uid, gid: gid, mode: e.mode, setMode: t.kind != kindSymlink}
	m.chown = !t.fresh || t.uid != uid || t.gid != gid
	m.atime, m.mtime = entryTimes(e)
	return m, nil
}

// apply sets m on t in the order applyMetadata gives; xattrs, when not
// nil, sets the xattrs between the mode and the times.
func (m metadata) apply(t target, xattrs func() error) error {
	if m.chown {
		if err := t.chown(m.uid, m.gid); err != nil {
			if errors.Is(err, unix.EPERM) || errors.Is(err, unix.EINVAL) {
				return fmt.Errorf("chown %d:%d: %w (as an unprivileged user use rootless mode; with a user namespace, "+
					"the ids must be inside its mapping, see /etc/subuid and /etc/subgid)", m.uid, m.gid, err)
			}
			return fmt.Errorf("chown %d:%d: %w", m.uid, m.gid, err)
		}
	}
	if m.setMode {
		if err := t.chmod(m.mode); err != nil {
			return fmt.Errorf("chmod %#o: %w", m.mode, err)
		}
	}
	if xattrs != nil {
		if err := xattrs(); err != nil {
			return err
		}
	}
	if err := t.utimes(m.atime, m.mtime); err != nil {
		return fmt.Errorf("set times: %w", err)
	}
	return nil
}

// impliedDirMetadata gives a directory this package created on its own
// (an implied parent) mode 0755 and, with a uid/gid map, the mapped root's
// ownership.
func (a *applier) impliedDirMetadata(d *pathrs.Dir) error {
	t := nameTarget(d, "", kindDir)
	if !a.cfg.rootless {
		uid, uok := a.cfg.uids.rootHost()
		gid, gok := a.cfg.gids.rootHost()
		if uok || gok {
			if !uok {
				uid = -1
			}
			if !gok {
				gid = -1
			}
			if err := t.chown(uid, gid); err != nil {
				return fmt.Errorf("chown: %w", err)
			}
		}
	}
	if err := t.chmod(0o755); err != nil {
		return fmt.Errorf("chmod: %w", err)
	}
	return nil
}

func (t target) chown(uid, gid int) error {
	if t.f != nil {
		return t.withFd(func(fd int) error {
			return linux.RetryEINTR(func() error { return unix.Fchown(fd, uid, gid) })
		})
	}
	return t.dir.Lchown(t.name, uid, gid)
}

func (t target) chmod(mode uint32) error {
	if t.f != nil {
		return t.withFd(func(fd int) error {
			return linux.RetryEINTR(func() error { return unix.Fchmod(fd, mode) })
		})
	}
	return t.dir.Chmod(t.name, mode)
}

func (t target) utimes(atime, mtime time.Time) error {
	if t.f != nil {
		// Clamped times (entryTimes) fit UnixNano.
		ts := []unix.Timespec{unix.NsecToTimespec(atime.UnixNano()), unix.NsecToTimespec(mtime.UnixNano())}
		return t.withFd(func(fd int) error {
			return linux.RetryEINTR(func() error { return unix.UtimesNanoAt(fd, "", ts, unix.AT_EMPTY_PATH) })
		})
	}
	return t.dir.Utimes(t.name, atime, mtime)
}

func (t target) setxattr(name string, value []byte) error {
	if t.f != nil {
		return t.withFd(func(fd int) error {
			return linux.RetryEINTR(func() error { return unix.Fsetxattr(fd, name, value, 0) })
		})
	}
	return t.dir.Lsetxattr(t.name, name, value, 0)
}

// Times outside this range are clamped to it: pathrs converts through
// time.Time.UnixNano, which overflows outside 1678..2262, and no
// filesystem stores such dates anyway (ext4 ends in 2446, with the kernel
// clamping). Tar's base-256 fields can encode any int64 seconds.
var (
	minTime = time.Date(1678, 1, 1, 0, 0, 0, 0, time.UTC)
	maxTime = time.Date(2262, 1, 1, 0, 0, 0, 0, time.UTC)
)

func clampTime(t time.Time) time.Time {
	switch {
	case t.Before(minTime):
		return minTime
	case t.After(maxTime):
		return maxTime
	}
	return t
}

// entryTimes returns the access and modification times to apply: the
// header's, with a missing access time (plain ustar has none) taken from
// the modification time, as GNU tar does.
func entryTimes(e *entry) (atime, mtime time.Time) {
	mtime = clampTime(e.hdr.ModTime)
	atime = mtime
	if !e.hdr.AccessTime.IsZero() {
		atime = clampTime(e.hdr.AccessTime)
	}
	return atime, mtime
}
