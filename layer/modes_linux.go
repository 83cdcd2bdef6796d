package layer

import (
	"errors"
	"fmt"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/safeunpack/safeunpack/pathrs"
)

// maxHeldGrants bounds the directories opened up at once, each held by an
// O_PATH descriptor until its image mode is given back. Grants are given
// back as soon as the stream leaves their subtree, so a tar written by
// walking a tree holds at most its depth of them; only a layer that
// returns to many restrictive directories out of order comes close. 1024
// descriptors stay far below any RLIMIT_NOFILE a Go program runs with
// (Go raises the soft limit to the hard one), and far above the nesting of
// restrictive directories in any real image.
const maxHeldGrants = 1024

// grant is a directory whose image mode denies its owner (the unpacking
// user) access, opened up (u+rwx) while the layer writes into it.
type grant struct {
	// path is the in-root path the directory was reached by; when the
	// stream leaves it, the grant is given back.
	path string
	// dir is the directory itself: its mode is given back through this
	// descriptor, without resolving a path again (a path could cross a
	// directory closed again since, or a symlink).
	dir      *pathrs.Dir
	dev, ino uint64
	// mode is the image's mode, given back at the end.
	mode uint32
	// entry is the number of the entry that needed it: an entry's own
	// grants survive the times pass it runs again when it is retried.
	entry int64
}

// grants are the directories opened up, in the order they were (outer
// before inner along every path): given back in reverse order.
type grants struct {
	held []grant
}

// update records, for a directory entry applied over an existing directory,
// the mode to give back if that directory is opened up at the moment; it
// reports whether it is.
func (g *grants) update(dev, ino uint64, mode uint32) bool {
	for i := range g.held {
		if g.held[i].dev == dev && g.held[i].ino == ino {
			g.held[i].mode = mode
			return true
		}
	}
	return false
}

// deepest returns the newest grant whose path is p or an ancestor of it
// (grants along one path are pushed outer first, so the newest is the
// deepest), or nil.
func (g *grants) deepest(p string) *grant {
	for i := len(g.held) - 1; i >= 0; i-- {
		if isWithin(p, g.held[i].path) {
			return &g.held[i]
		}
	}
	return nil
}

// restore gives back, newest first, the grants for which done reports
// true, stopping at the first one it keeps (an older grant is an ancestor
// of a newer one or unrelated; either way it may wait).
func (g *grants) restore(done func(grant) bool) error {
	for len(g.held) > 0 {
		top := g.held[len(g.held)-1]
		if !done(top) {
			return nil
		}
		g.held = g.held[:len(g.held)-1]
		err := top.dir.Chmod("", top.mode)
		_ = top.dir.Close()
		if err != nil && !errors.Is(err, unix.ENOENT) {
			return fmt.Errorf("restore mode %#o of directory %s: %w", top.mode, quoteName(top.path), err)
		}
	}
	return nil
}

// leaveGrants gives back the grants of directories the stream has left:
// called with the directory the entry being applied goes into. Grants made
// for that entry itself are kept (a whiteout works inside the directory it
// names, below the one it goes into, and runs this again when retried).
func (a *applier) leaveGrants(dir string) error {
	return a.rl.grants.restore(func(g grant) bool { return g.entry < a.er.entries && !isWithin(dir, g.path) })
}

// withAccess runs op and, in rootless mode, when it fails with EACCES,
// opens up every directory on each of paths (in-root paths, the last
// component included) whose mode denies its owner, the unpacking user,
// access, then runs op once more. Without it an image's 0500 or 0000
// directory with children (or a lower layer's 0555 directory that a later
// layer writes into) would stop an unprivileged unpack with EACCES half-way
// through a layer: root does not notice modes (CAP_DAC_OVERRIDE), the
// owner does.
func (a *applier) withAccess(op func() error, paths ...string) error {
	err := op()
	if err == nil || a.rl == nil || !errors.Is(err, unix.EACCES) {
		return err
	}
	opened := false
	for i, p := range paths {
		if i > 0 && p == paths[i-1] {
			continue
		}
		ok, gerr := a.grantPath(p)
		if gerr != nil {
			return fmt.Errorf("%w (opening up %s for the owner: %w)", err, quoteName(p), gerr)
		}
		opened = opened || ok
	}
	if !opened {
		return err
	}
	return op()
}

// grantPath opens up the root and each directory along the cleaned in-root
// path p that the unpacking user owns and lacks u+rwx on: chmod through a
// descriptor of the directory itself (fchmodat2, never following), its
// image mode kept for later. Symlinks along p are followed inside the root
// (a symlinked component is reopened by in-root resolution). It stops
// quietly at a component that is missing, not a directory, or still
// unreachable. It reports whether anything was opened up.
//
// The walk starts at the deepest directory of p already opened up, through
// its descriptor: the part above it was walked then, so a tar written by
// walking a tree of nested restrictive directories costs one step per
// level, not one walk from the root per level.
func (a *applier) grantPath(p string) (bool, error) {
	var cur *pathrs.Dir
	owned, opened, start := false, false, 0
	if g := a.rl.grants.deepest(p); g != nil {
		ok, _, err := a.grantDir(g.dir, g.path)
		if err != nil {
			return false, err
		}
		cur, opened = g.dir, ok
		if g.path != rootPath {
			start = strings.Count(g.path, "/") + 1
		}
	} else {
		root, err := a.root.Dir()
		if err != nil {
			return false, err
		}
		ok, kept, err := a.grantDir(root, rootPath)
		if err != nil {
			if !kept {
				_ = root.Close()
			}
			return false, err
		}
		cur, owned, opened = root, !kept, ok
	}
	defer func() {
		if owned {
			_ = cur.Close()
		}
	}()
	if p == rootPath {
		return opened, nil
	}
	comps := strings.Split(p, "/")
	for i := start; i < len(comps); i++ {
		c := comps[i]
		prefix := strings.Join(comps[:i+1], "/")
		st, err := cur.Lstat(c)
		if err != nil {
			return opened, nil
		}
		var next *pathrs.Dir
		switch st.Mode & unix.S_IFMT {
		case unix.S_IFDIR:
			next, err = cur.OpenDir(c)
		case unix.S_IFLNK:
			next, err = a.root.OpenDir(prefix)
		default:
			return opened, nil
		}
		if err != nil {
			return opened, nil
		}
		ok, kept, err := a.grantDir(next, prefix)
		if owned {
			_ = cur.Close()
		}
		cur, owned = next, !kept
		if err != nil {
			return opened, err
		}
		opened = opened || ok
	}
	return opened, nil
}

// grantDir opens up d, reached by path p, if the unpacking user owns it
// and lacks u+rwx, and reports whether it did (opened) and whether a new
// grant took ownership of d (kept). A directory already opened up (whose
// mode a directory entry changed since) is opened up again under its
// existing grant, which takes the current mode as the one to restore.
func (a *applier) grantDir(d *pathrs.Dir, p string) (opened, kept bool, err error) {
	st, err := d.Stat()
	if err != nil {
		return false, false, err
	}
	if int(st.Uid) != a.cfg.euid || st.Mode&0o700 == 0o700 {
		return false, false, nil
	}
	mode := st.Mode & 0o7777
	if err := d.Chmod("", mode|0o700); err != nil {
		return false, false, fmt.Errorf("chmod %#o: %w", mode|0o700, err)
	}
	g := &a.rl.grants
	if g.update(st.Dev, st.Ino, mode) {
		return true, false, nil
	}
	if !a.rl.grantLogged {
		a.rl.grantLogged = true
		a.cfg.logger.Debug("layer: opening up a directory the image makes inaccessible to its owner, until the "+
			"stream leaves it", "directory", p, "mode", fmt.Sprintf("%#o", mode))
	}
	if len(g.held) >= maxHeldGrants {
		if err := g.restore(func(gr grant) bool { return !isWithin(p, gr.path) }); err != nil {
			return false, false, err
		}
		if len(g.held) >= maxHeldGrants {
			_ = d.Chmod("", mode)
			return false, false, &LimitError{Limit: "RestrictedDirectories", Value: maxHeldGrants}
		}
	}
	g.held = append(g.held, grant{path: p, dir: d, dev: st.Dev, ino: st.Ino, mode: mode, entry: a.er.entries})
	return true, true, nil
}
