package layer

import (
	"errors"
	"fmt"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/safeunpack/safeunpack/pathrs"
)

// parentCacheSize is how many resolved directories stay open. Tar streams
// written by walking a tree return to a parent after each subdirectory, so
// a handful of slots catch nearly every lookup (caching the last parent
// took a 16.7k-entry layer from 0.43 s to 0.33 s, performance.md).
const parentCacheSize = 8

// parentCache keeps recently resolved directories open, keyed by cleaned
// path. It is a performance device only: every handle in it was resolved
// in the root, and it is emptied whenever this layer removes or replaces a
// directory or symlink, since that can change what a path resolves to.
//
// A handle returned by get or lookupDir stays valid until the next get or
// put: emptying is deferred to then (invalidate only marks the cache
// stale), so an entry may invalidate the cache and keep using its parent.
type parentCache struct {
	slots [parentCacheSize]struct {
		path string
		dir  *pathrs.Dir
		used uint64
		// mode is the directory's st_mode, read lazily (modeOK) by setgid.
		mode   uint32
		modeOK bool
	}
	clock uint64
	stale bool
	// root is the root's Dir, which lives outside the slots.
	root       *pathrs.Dir
	rootMode   uint32
	rootModeOK bool
}

// setgid reports whether d, a directory from this cache or the root, has
// its setgid bit (so that files created in it take its group rather than
// ours). The answer is cached with the slot and forgotten whenever a
// directory entry is applied (forgetModes), since that may change modes.
func (c *parentCache) setgid(d *pathrs.Dir) (bool, error) {
	mode, ok := &c.rootMode, &c.rootModeOK
	if d != c.root {
		mode, ok = nil, nil
		for i := range c.slots {
			if c.slots[i].dir == d {
				mode, ok = &c.slots[i].mode, &c.slots[i].modeOK
				break
			}
		}
		if mode == nil {
			// Not ours (cannot happen today): ask every time.
			st, err := d.Stat()
			return st.Mode&unix.S_ISGID != 0, err
		}
	}
	if !*ok {
		st, err := d.Stat()
		if err != nil {
			return false, err
		}
		*mode, *ok = st.Mode, true
	}
	return *mode&unix.S_ISGID != 0, nil
}

// forgetModes drops every cached st_mode.
func (c *parentCache) forgetModes() {
	c.rootModeOK = false
	for i := range c.slots {
		c.slots[i].modeOK = false
	}
}

func (c *parentCache) get(p string) *pathrs.Dir {
	c.flush()
	for i := range c.slots {
		s := &c.slots[i]
		if s.dir != nil && s.path == p {
			c.clock++
			s.used = c.clock
			return s.dir
		}
	}
	return nil
}

// put caches d (the cache owns it from now on), evicting the least
// recently used slot.
func (c *parentCache) put(p string, d *pathrs.Dir) {
	c.flush()
	victim := 0
	for i := range c.slots {
		if c.slots[i].dir == nil {
			victim = i
			break
		}
		if c.slots[i].used < c.slots[victim].used {
			victim = i
		}
	}
	s := &c.slots[victim]
	if s.dir != nil {
		_ = s.dir.Close()
	}
	c.clock++
	s.path, s.dir, s.used, s.modeOK = p, d, c.clock, false
}

// invalidate marks the cache stale: it is emptied at the next get or put.
func (c *parentCache) invalidate() { c.stale = true }

func (c *parentCache) flush() {
	if c.stale {
		c.stale = false
		c.closeAll()
	}
}

// closeAll closes every cached directory.
func (c *parentCache) closeAll() {
	for i := range c.slots {
		if c.slots[i].dir != nil {
			_ = c.slots[i].dir.Close()
			c.slots[i].dir = nil
			c.slots[i].path = ""
		}
	}
}

// resolveError reports a resolution that followed too many symlinks as the
// MaxSymlinkHops limit (pathrs enforces the kernel's 40 on both backends).
func resolveError(err error) error {
	if errors.Is(err, unix.ELOOP) {
		return &LimitError{Limit: "MaxSymlinkHops", Value: DefaultMaxSymlinkHops, Err: err}
	}
	return err
}

// parentDir returns the directory an entry goes into, creating missing
// parents (implied directories, as every unpacker does: buildah and kaniko
// layers omit them, moby#53257), and what the tracker knows about it.
// Symlinks among the parents are followed inside the root. The Dir belongs
// to the cache (or is the root's): the caller must not close it.
func (a *applier) parentDir(p string) (*pathrs.Dir, parentState, error) {
	d, err := a.lookupDir(p)
	if errors.Is(err, unix.ENOENT) {
		d, err = a.createParents(p)
	}
	if err != nil {
		return nil, 0, fmt.Errorf("parent directory %s: %w", quoteName(p), resolveError(err))
	}
	ps, err := a.parentState(p, d)
	return d, ps, err
}

// lookupDir resolves an existing directory (the root, a cached one, or by
// in-root resolution, then cached).
func (a *applier) lookupDir(p string) (*pathrs.Dir, error) {
	if p == rootPath {
		return a.rootDir, nil
	}
	if d := a.parents.get(p); d != nil {
		return d, nil
	}
	// A directory entry is usually followed by its children: open it from
	// its cached parent with one openat (no final symlink followed) rather
	// than resolving the whole path again. A symlink there (or a file)
	// falls back to the full in-root resolution, which follows it.
	parent, name := splitPath(p)
	pd := a.rootDir
	if parent != rootPath {
		pd = a.parents.get(parent)
	}
	if pd != nil {
		d, err := pd.OpenDir(name)
		if err == nil {
			a.parents.put(p, d)
			return d, nil
		}
		if errors.Is(err, unix.ENOENT) {
			return nil, err
		}
	}
	d, err := a.root.OpenDir(p)
	if err != nil {
		return nil, err
	}
	a.parents.put(p, d)
	return d, nil
}

// existingDir is lookupDir for whiteouts: a missing directory (or a
// non-directory, or a dangling symlink) is not an error but "nothing to
// do" (ok false); nothing is created.
func (a *applier) existingDir(p string) (d *pathrs.Dir, ok bool, err error) {
	d, err = a.lookupDir(p)
	switch {
	case err == nil:
		return d, true, nil
	case errors.Is(err, unix.ENOENT), errors.Is(err, unix.ENOTDIR):
		return nil, false, nil
	}
	return nil, false, fmt.Errorf("directory %s: %w", quoteName(p), resolveError(err))
}

// parentState asks the tracker about dir, checking once whether a
// directory this layer has not touched yet is empty. A directory we cannot
// read (possible for an unprivileged user) counts as non-empty, which only
// costs bookkeeping memory.
func (a *applier) parentState(p string, d *pathrs.Dir) (parentState, error) {
	ps := a.track.parent(p)
	if ps != parentUnknown {
		return ps, nil
	}
	empty, err := d.IsEmpty()
	if err != nil {
		empty = false
	}
	if err := a.track.parentChecked(p, empty); err != nil {
		return 0, err
	}
	if empty {
		return parentNew, nil
	}
	return parentLower, nil
}

// createParents creates the missing directories of p below its deepest
// existing ancestor, one mkdirat at a time in the parent's descriptor, each
// opened without following symlinks, and returns p (cached). Implied
// directories get mode 0755 and, with a uid/gid map, the mapped root's
// ownership; otherwise the process's (root:root for a privileged unpack).
func (a *applier) createParents(p string) (*pathrs.Dir, error) {
	comps := strings.Split(p, "/")
	i := len(comps) - 1
	var base *pathrs.Dir
	owned := false
	for ; i > 0; i-- {
		d, err := a.lookupDir(strings.Join(comps[:i], "/"))
		if err == nil {
			base = d
			break
		}
		if !errors.Is(err, unix.ENOENT) {
			return nil, err
		}
	}
	basePath := rootPath
	if i == 0 {
		base = a.rootDir
	} else {
		basePath = strings.Join(comps[:i], "/")
	}
	if _, err := a.parentState(basePath, base); err != nil {
		return nil, err
	}
	release := func() {
		if owned {
			_ = base.Close()
		}
	}
	for j := i; j < len(comps); j++ {
		cur := strings.Join(comps[:j+1], "/")
		err := base.Mkdir(comps[j], 0o700)
		created := err == nil
		if err != nil && !errors.Is(err, unix.EEXIST) {
			release()
			return nil, err
		}
		child, err := base.OpenDir(comps[j])
		release()
		if err != nil {
			if errors.Is(err, unix.ENOTDIR) {
				// A file, or a symlink the in-root lookup could not follow
				// (dangling): pathrs never creates through those.
				return nil, fmt.Errorf("%s exists and is not a directory: %w", quoteName(cur), err)
			}
			return nil, err
		}
		base, owned = child, true
		if created {
			if err := a.impliedDirMetadata(child); err != nil {
				_ = child.Close()
				return nil, fmt.Errorf("implied directory %s: %w", quoteName(cur), err)
			}
			if err := a.track.createdDir(cur, false); err != nil {
				_ = child.Close()
				return nil, err
			}
		}
	}
	a.parents.put(p, base)
	return base, nil
}
