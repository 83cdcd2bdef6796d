package layer

import (
	"errors"
	"fmt"
	"io"
	"os"

	"golang.org/x/sys/unix"

	"github.com/safeunpack/safeunpack/pathrs"
)

// pruneBatch is how many names are read from a directory at a time while
// pruning it, so a huge lower directory costs bounded memory.
const pruneBatch = 1024

// whiteout applies ".wh.<name>": <name> as lower layers left it is
// removed; what this layer itself put there survives, whether it came
// before or after the whiteout (image-spec layer.md; containerd and moby
// delete a same-layer <name> that came first, table 5.3 row 15). The parent
// is resolved in the root without creating anything, a missing path is a
// no-op, and the final component is never followed (".wh.link" removes the
// symlink, not its target). Nothing is created for the whiteout itself.
func (a *applier) whiteout(e *entry) error {
	dir, name := splitPath(e.target)
	if a.track.isNew(dir) {
		return nil // nothing below a new directory comes from a lower layer
	}
	act := actionFor(a.track.get(e.target))
	if act == actKeep {
		return nil
	}
	// Restoring the times of directories left behind may use the cache:
	// do it before taking a handle from it.
	if err := a.times.enter(dir); err != nil {
		return err
	}
	d, ok, err := a.existingDir(dir)
	if err != nil || !ok {
		return err
	}
	if act == actRemove {
		a.parents.invalidate()
		a.times.forget(e.target)
		if err := d.RemoveAll(name); err != nil {
			return fmt.Errorf("remove %s: %w", quoteName(e.target), err)
		}
		return nil
	}
	child, err := d.OpenDir(name)
	if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ENOTDIR) {
		return nil // replaced by a non-directory of this layer since
	}
	if err != nil {
		return fmt.Errorf("open %s: %w", quoteName(e.target), err)
	}
	list, err := d.Open(name, unix.O_RDONLY|unix.O_DIRECTORY)
	if err != nil {
		_ = child.Close()
		return fmt.Errorf("open %s: %w", quoteName(e.target), err)
	}
	return a.prune(child, list, e.target)
}

// opaque applies ".wh..wh..opq" in directory D: the children of D that
// lower layers put there are removed, this layer's are kept, in whatever
// order the marker and they come (image-spec: the opaque whiteout applies
// "regardless of the ordering"). A missing D is a no-op. Afterwards D has
// no lower children, so it counts as new for the rest of the layer.
func (a *applier) opaque(e *entry) error {
	dir := e.target
	if a.track.isNew(dir) {
		return nil
	}
	// D itself is resolved in the root like any parent (a symlinked D
	// leads to its in-root target), once for removals and once for
	// reading names; prune owns both.
	d, err := a.root.OpenDir(dir)
	if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ENOTDIR) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("open %s: %w", quoteName(dir), resolveError(err))
	}
	list, err := a.root.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY)
	if err != nil {
		_ = d.Close()
		if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ENOTDIR) {
			return nil
		}
		return fmt.Errorf("open %s: %w", quoteName(dir), resolveError(err))
	}
	if err := a.times.enter(dir); err != nil {
		_ = d.Close()
		_ = list.Close()
		return err
	}
	if err := a.prune(d, list, dir); err != nil {
		return err
	}
	if err := a.track.add(dir, flagNew); err != nil {
		return err
	}
	return a.track.markAncestors(dir)
}

// pruneItem is a directory waiting on prune's explicit stack.
type pruneItem struct {
	dir  *pathrs.Dir // opened from its parent without following
	list *os.File    // the same directory, open for reading names
	path string
}

// prune removes from the directory at p (dir for removals, list for
// reading its names; both owned by prune) every child that holds nothing of
// this layer, keeps those that are wholly this layer's, and descends into
// those that hold both. It uses an explicit stack, never recursion, and
// reads names in batches; every removal is an unlinkat or pathrs RemoveAll
// on a name in an already-resolved directory, never a path.
func (a *applier) prune(dir *pathrs.Dir, list *os.File, p string) (err error) {
	stack := []pruneItem{{dir: dir, list: list, path: p}}
	defer func() {
		for _, it := range stack {
			_ = it.dir.Close()
			_ = it.list.Close()
		}
	}()
	for len(stack) > 0 {
		it := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		children, err := a.pruneOne(it)
		_ = it.dir.Close()
		_ = it.list.Close()
		if err != nil {
			return err
		}
		stack = append(stack, children...)
	}
	return nil
}

// pruneOne handles one directory of prune and returns the children to
// descend into.
func (a *applier) pruneOne(it pruneItem) ([]pruneItem, error) {
	var children []pruneItem
	fail := func(err error) ([]pruneItem, error) {
		for _, c := range children {
			_ = c.dir.Close()
			_ = c.list.Close()
		}
		return nil, err
	}
	removed := false
	for {
		names, rerr := it.list.Readdirnames(pruneBatch)
		for _, name := range names {
			cp := joinPath(it.path, name)
			switch actionFor(a.track.get(cp)) {
			case actRemove:
				if !removed {
					a.parents.invalidate()
					removed = true
				}
				a.times.forget(cp)
				if err := a.withAccess(func() error { return it.dir.RemoveAll(name) }, it.path); err != nil {
					return fail(fmt.Errorf("remove %s: %w", quoteName(cp), err))
				}
			case actPrune:
				c, err := it.dir.OpenDir(name)
				if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ENOTDIR) {
					continue
				}
				if err != nil {
					return fail(fmt.Errorf("open %s: %w", quoteName(cp), err))
				}
				var l *os.File
				err = a.withAccess(func() (err error) {
					l, err = it.dir.Open(name, unix.O_RDONLY|unix.O_DIRECTORY)
					return err
				}, cp)
				if err != nil {
					_ = c.Close()
					return fail(fmt.Errorf("open %s: %w", quoteName(cp), err))
				}
				children = append(children, pruneItem{dir: c, list: l, path: cp})
			}
		}
		if errors.Is(rerr, io.EOF) || (rerr == nil && len(names) == 0) {
			break
		}
		if rerr != nil {
			return fail(fmt.Errorf("read directory %s: %w", quoteName(it.path), rerr))
		}
	}
	if removed {
		a.times.changed(it.path)
	}
	return children, nil
}
