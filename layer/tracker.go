package layer

import (
	"hash/maphash"
)

// pathFlags describe what this layer did at a path.
type pathFlags uint8

const (
	// flagNew: a directory with no lower-layer children, because this
	// layer created it (explicitly or as an implied parent) or found it
	// empty before adding to it.
	flagNew pathFlags = 1 << iota
	// flagEntry: an explicit entry of this layer (any type).
	flagEntry
	// flagMerged: an explicit directory entry applied over a directory
	// that already existed (it keeps its lower children).
	flagMerged
	// flagContent: a pre-existing directory that holds, somewhere below,
	// content of this layer.
	flagContent
)

// tracker is the same-layer bookkeeping that lets whiteouts act on lower
// layers only (image-spec layer.md: "Whiteout files MUST only apply to
// resources in lower/parent layers"), whatever the order of entries.
//
// It is a set of 64-bit maphash values of cleaned paths (random seed per
// layer, so a hostile layer cannot aim collisions) with a few flag bits,
// holding:
//   - every directory this layer created or found empty (flagNew);
//   - explicit entries whose parent is not new (entries inside a new
//     directory need no record: nothing there is from a lower layer);
//   - the ancestors of both (flagContent), marked up to the first ancestor
//     already marked.
//
// So memory is about O(directories + entries added directly into
// pre-existing non-empty directories), some 30-60 bytes each, bounded by
// Limits.MaxTrackedPaths. A collision (about 1 in 2^40 at a million paths)
// can only make a whiteout keep a lower file or skip a subtree: it never
// reaches outside the root. Paths are lexical: a layer reaching the same
// directory through two symlinked spellings may have a whiteout under one
// spelling remove same-layer content created under the other.
type tracker struct {
	seed  maphash.Seed
	flags map[uint64]pathFlags
	limit int64
}

func newTracker(limit int64) *tracker {
	return &tracker{seed: maphash.MakeSeed(), flags: make(map[uint64]pathFlags), limit: limit}
}

func (t *tracker) key(p string) uint64 { return maphash.String(t.seed, p) }

func (t *tracker) get(p string) pathFlags { return t.flags[t.key(p)] }

func (t *tracker) isNew(p string) bool { return t.get(p)&flagNew != 0 }

func (t *tracker) set(p string, f pathFlags) error {
	k := t.key(p)
	if _, ok := t.flags[k]; !ok && int64(len(t.flags)) >= t.limit {
		return &LimitError{Limit: "MaxTrackedPaths", Value: t.limit}
	}
	t.flags[k] = f
	return nil
}

func (t *tracker) add(p string, f pathFlags) error { return t.set(p, t.get(p)|f) }

func (t *tracker) forget(p string) { delete(t.flags, t.key(p)) }

// markAncestors marks the ancestors of p with flagContent, stopping at the
// first one already marked (its own ancestors are marked then: every mark
// is made with its ancestors).
func (t *tracker) markAncestors(p string) error {
	for p != rootPath {
		p = parentPath(p)
		if t.get(p) != 0 {
			return nil
		}
		if err := t.set(p, flagContent); err != nil {
			return err
		}
	}
	return nil
}

// parentState is what the tracker knows about a directory before this
// layer adds something to it.
type parentState uint8

const (
	// parentUnknown: never touched by this layer; the caller must find out
	// whether it is empty and call parentChecked.
	parentUnknown parentState = iota
	// parentNew: nothing in it comes from a lower layer.
	parentNew
	// parentLower: it may hold lower-layer entries.
	parentLower
)

func (t *tracker) parent(dir string) parentState {
	switch f := t.get(dir); {
	case f == 0:
		return parentUnknown
	case f&flagNew != 0:
		return parentNew
	default:
		return parentLower
	}
}

// parentChecked records the answer for a parentUnknown directory: empty
// ones are new from now on.
func (t *tracker) parentChecked(dir string, empty bool) error {
	f := flagContent
	if empty {
		f = flagNew
	}
	if err := t.add(dir, f); err != nil {
		return err
	}
	return t.markAncestors(dir)
}

// created records that this layer created a directory at p that did not
// exist before (an implied parent, or a directory entry where nothing or a
// non-directory was).
func (t *tracker) createdDir(p string, explicit bool) error {
	f := flagNew
	if explicit {
		f |= flagEntry
	}
	if err := t.set(p, f); err != nil {
		return err
	}
	return t.markAncestors(p)
}

// mergedDir records an explicit directory entry applied over an existing
// directory.
func (t *tracker) mergedDir(p string) error {
	f := t.get(p) | flagEntry
	if f&flagNew == 0 {
		f |= flagMerged
	}
	if err := t.set(p, f); err != nil {
		return err
	}
	return t.markAncestors(p)
}

// createdNonDir records an explicit non-directory entry at p in a parent in
// state ps. Inside a new directory nothing needs recording, except that a
// stale directory mark at p must go.
func (t *tracker) createdNonDir(p string, ps parentState) error {
	if ps == parentNew {
		t.forget(p)
		return nil
	}
	if err := t.set(p, flagEntry); err != nil {
		return err
	}
	return t.markAncestors(p)
}

// whiteoutAction is what a whiteout (or opaque prune) does with a path,
// from the path's flags.
type whiteoutAction uint8

const (
	// actRemove: nothing of this layer is at or below it: remove it all.
	actRemove whiteoutAction = iota
	// actKeep: it is this layer's, and nothing lower is below it.
	actKeep
	// actPrune: it is a directory holding both: remove its lower children,
	// recursively, keeping this layer's.
	actPrune
)

func actionFor(f pathFlags) whiteoutAction {
	switch {
	case f == 0:
		return actRemove
	case f&flagNew != 0:
		return actKeep
	case f&(flagMerged|flagContent) != 0:
		return actPrune
	default:
		return actKeep
	}
}
