package layer

import (
	"hash/maphash"
	"time"
)

// stamp is a directory's times as recorded in the layer.
type stamp struct{ atime, mtime time.Time }

// dirTimes restores directory times after their children were written
// (creating or removing a child changes a directory's mtime), once per
// directory per layer, never after every entry (performance.md section 4).
//
// Times are set when a directory entry is applied and remembered (hash of
// the path → times). A stack holds the remembered directories that are
// ancestors of the entry being applied; when the stream leaves a
// directory's subtree (the next entry is not below it) its times are
// re-applied and it is popped. An entry below a directory that was already
// left pushes it again, so it is re-applied when left again or at the end
// of the layer. Directories changed out of order (by an opaque prune) are
// queued and re-applied at the end. Tar streams written by walking a tree
// visit each directory's subtree once, so each directory is restored once.
type dirTimes struct {
	seed    maphash.Seed
	times   map[uint64]stamp
	limit   int64
	stack   []string          // remembered ancestors of the current entry, outermost first
	pending map[uint64]string // changed out of order; re-applied at the end
	apply   func(path string, st stamp) error
	// leave, when set, is told the directory each entry goes into, after
	// the times of the directories left were restored: a rootless Apply
	// gives back the modes of the directories it opened up there
	// (modes_linux.go).
	leave func(dir string) error
	// end, when set, runs once every time was restored at the end of the
	// layer: a rootless Apply restores the remaining modes and logs its
	// summary lines.
	end func() error
}

func newDirTimes(limit int64, apply func(string, stamp) error) *dirTimes {
	return &dirTimes{
		seed:    maphash.MakeSeed(),
		times:   make(map[uint64]stamp),
		limit:   limit,
		pending: make(map[uint64]string),
		apply:   apply,
	}
}

func (d *dirTimes) key(p string) uint64 { return maphash.String(d.seed, p) }

// record remembers the times of a directory entry just applied.
func (d *dirTimes) record(p string, st stamp) error {
	k := d.key(p)
	if _, ok := d.times[k]; !ok && int64(len(d.times)) >= d.limit {
		return &LimitError{Limit: "MaxTrackedPaths", Value: d.limit}
	}
	d.times[k] = st
	return nil
}

// forget drops a directory that this layer removed or replaced with a
// non-directory.
func (d *dirTimes) forget(p string) {
	k := d.key(p)
	delete(d.times, k)
	delete(d.pending, k)
	for i, s := range d.stack {
		if s == p {
			d.stack = append(d.stack[:i], d.stack[i+1:]...)
			break
		}
	}
}

// enter is called before an entry changes the directory dir: it restores
// the directories the stream has left and pushes dir and its remembered
// ancestors.
func (d *dirTimes) enter(dir string) error {
	keep := len(d.stack)
	for keep > 0 && !isWithin(dir, d.stack[keep-1]) {
		keep--
	}
	if err := d.restoreAll(d.stack[keep:]); err != nil {
		return err
	}
	d.stack = d.stack[:keep]
	if d.leave != nil {
		if err := d.leave(dir); err != nil {
			return err
		}
	}
	if len(d.times) == 0 {
		return nil
	}
	// Push dir and its ancestors below the current top that have recorded
	// times, outermost first.
	top := ""
	if len(d.stack) > 0 {
		top = d.stack[len(d.stack)-1]
	}
	var add []string
	for p := dir; p != top; p = parentPath(p) {
		if _, ok := d.times[d.key(p)]; ok {
			add = append(add, p)
		}
		if p == rootPath {
			break
		}
	}
	for i := len(add) - 1; i >= 0; i-- {
		d.stack = append(d.stack, add[i])
	}
	return nil
}

// changed marks a directory changed out of stream order.
func (d *dirTimes) changed(p string) {
	k := d.key(p)
	if _, ok := d.times[k]; ok {
		d.pending[k] = p
	}
}

// restoreAll restores dirs, outermost first. Setting a directory's times
// does not change its parent's, so any order is correct; this one lets
// each lookup start from the parent just used (the applier's handle cache),
// which keeps unwinding a deep subtree linear.
func (d *dirTimes) restoreAll(dirs []string) error {
	for _, p := range dirs {
		if err := d.restore(p); err != nil {
			return err
		}
	}
	return nil
}

func (d *dirTimes) restore(p string) error {
	st, ok := d.times[d.key(p)]
	if !ok {
		return nil
	}
	delete(d.pending, d.key(p))
	return d.apply(p, st)
}

// finish restores every directory still open or pending.
func (d *dirTimes) finish() error {
	if err := d.restoreAll(d.stack); err != nil {
		return err
	}
	d.stack = d.stack[:0]
	for k, p := range d.pending {
		st := d.times[k]
		delete(d.pending, k)
		if err := d.apply(p, st); err != nil {
			return err
		}
	}
	if d.end != nil {
		return d.end()
	}
	return nil
}
