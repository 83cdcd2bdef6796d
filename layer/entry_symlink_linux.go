package layer

import (
	"fmt"

	"github.com/safeunpack/safeunpack/pathrs"
)

// symlink applies a symlink entry. The target is stored verbatim: it is
// only ever resolved later through a pathrs.Root, where absolute targets
// and ".." stay inside the root, so rewriting or rejecting escaping targets
// (as go-containerregistry did, #2238) would only break real images. An
// existing entry at the name is replaced, never followed.
func (a *applier) symlink(d *pathrs.Dir, ps parentState, e *entry) error {
	err := a.createReplacing(d, e, func() error { return d.Symlink(e.target, e.name) })
	if err != nil {
		return fmt.Errorf("symlink: %w", err)
	}
	if err := a.track.createdNonDir(e.path, ps); err != nil {
		return err
	}
	a.res.Counts.Symlinks++
	return a.applyMetadata(nameTarget(d, e.name, kindSymlink), e, false)
}
