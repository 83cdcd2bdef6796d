package layer

import (
	"fmt"

	"golang.org/x/sys/unix"

	"github.com/safeunpack/safeunpack/pathrs"
)

// special applies a character device, block device or FIFO entry with
// mknodat; the node is never opened (metadata goes by name, without
// following). Devices need CAP_MKNOD in the initial user namespace: a
// rootless Apply creates an empty regular file in their place instead
// (placeholder, rootless_linux.go), as umoci does; a privileged one fails
// with EPERM without it.
func (a *applier) special(d *pathrs.Dir, ps parentState, e *entry) error {
	if a.rl != nil && e.kind != kindFifo {
		return a.placeholder(d, ps, e)
	}
	var mode uint32
	var dev uint64
	switch e.kind {
	case kindChar:
		mode, dev = unix.S_IFCHR, mkdev(e)
	case kindBlock:
		mode, dev = unix.S_IFBLK, mkdev(e)
	default:
		mode = unix.S_IFIFO
	}
	err := a.createReplacing(d, e, func() error { return d.Mknod(e.name, mode|0o600, dev) })
	if err != nil {
		return fmt.Errorf("mknod %s: %w", e.kind, err)
	}
	if err := a.track.createdNonDir(e.path, ps); err != nil {
		return err
	}
	if e.kind == kindFifo {
		a.res.Counts.Fifos++
	} else {
		a.res.Counts.Devices++
	}
	return a.applyMetadata(nameTarget(d, e.name, e.kind), e, false)
}

// mkdev encodes a device entry's numbers (range-checked by parseEntry).
func mkdev(e *entry) uint64 {
	return unix.Mkdev(uint32(e.hdr.Devmajor), uint32(e.hdr.Devminor))
}
