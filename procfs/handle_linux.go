package procfs

import (
	"errors"
	"fmt"
	"os"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// Handle is a verified handle to the root of a procfs instance. Every file
// opened through it is checked to lie on the handle's own mount.
//
// [OpenHandle] may return the process-wide cached handle, shared by every
// caller; its Close does nothing, and if its fd is found closed or reused
// behind the package's back, its methods transparently continue on a freshly
// built handle. Other handles belong to the caller, who must Close them.
// A Handle's methods may be called concurrently, but not concurrently with
// its Close.
type Handle struct {
	fd       int
	rung     Rung
	mnt      mountID
	subset   bool
	detached bool
	// shared marks the process-wide cached handle.
	shared bool
	closed atomic.Bool
}

// OpenHandle returns the best verified procfs handle the ladder can build
// (see [Rung]). When that is a private subset=pid instance, it is the
// process-wide cached handle, built once and revalidated before use;
// otherwise it is a fresh handle. Either way the caller calls Close when
// done, which is a no-op for the cached handle.
func OpenHandle() (*Handle, error) {
	h, err := defaultHandle()
	if err != nil {
		return nil, err
	}
	return h, nil
}

// OpenUnmaskedHandle returns a fresh verified handle without subset=pid, so
// it also sees the global files (/proc/cpuinfo, /proc/sys, ...). It is never
// cached: a leaked unmasked handle exposes more than a subset one. The
// caller must Close it. Package functions build one by themselves, for a
// single operation, when a [ProcRoot] lookup on a subset handle finds
// nothing (libpathrs does the same).
func OpenUnmaskedHandle() (*Handle, error) { return buildHandle(false) }

// Rung returns the ladder step the handle came from.
func (h *Handle) Rung() Rung { return h.rung }

// Detached reports whether the handle's mount is attached to no mount
// namespace, so that nobody can mount over files inside it (true for the
// fsopen and open_tree rungs, verified when the handle was built).
func (h *Handle) Detached() bool { return h.detached }

// Subset reports whether the instance shows only the pid directories
// (subset=pid, Linux 5.8).
func (h *Handle) Subset() bool { return h.subset }

// MountID returns the mount id recorded when the handle was verified (from
// STATX_MNT_ID_UNIQUE where the kernel has it, Linux 6.8).
func (h *Handle) MountID() uint64 { return h.mnt.id }

// Close releases the handle. It does nothing for the cached handle and is
// safe to call more than once.
func (h *Handle) Close() error {
	if h == nil || h.shared || h.closed.Swap(true) {
		return nil
	}
	return unix.Close(h.fd)
}

// releaseTemp closes h unless it is the cached handle: package functions
// call it on handles they obtained for a single operation.
func (h *Handle) releaseTemp() {
	if !h.shared {
		_ = h.Close()
	}
}

// live returns the handle to use for one operation: h itself, or for a stale
// cached handle its replacement (which may be temporary: the caller releases
// anything other than h). With strict set, h is revalidated first; strict
// is needed before any open that is not O_PATH, since opening with real
// flags in a directory that is not ours (say, a FIFO) could block or have
// side effects. Without strict and with unique mount ids, the mount-id check
// on the result is proof enough, and the revalidation happens only after a
// failure.
func (h *Handle) live(strict bool) (*Handle, error) {
	if h.closed.Load() {
		return nil, os.ErrClosed
	}
	if !strict && h.mnt.src == srcUnique {
		return h, nil
	}
	return h.replaceIfStale()
}

// replaceIfStale revalidates h and returns it, or its replacement if it is
// the cached handle and stale.
func (h *Handle) replaceIfStale() (*Handle, error) {
	stale, err := h.revalidate()
	if err != nil {
		return nil, err
	}
	if !stale {
		return h, nil
	}
	if !h.shared {
		return nil, fmt.Errorf("%s handle no longer refers to its procfs root (its fd was closed behind its back): %w",
			h.rung, unix.EBADF)
	}
	return sharedHandle(h)
}

// run performs op on a live handle derived from h. It retries op once on a
// rebuilt handle when the cached handle turns out to be stale after a
// failure, and once on a temporary unmasked handle when a ProcRoot lookup on
// a subset handle finds nothing.
func (h *Handle) run(base Base, strict bool, op func(*Handle) error) error {
	cur, err := h.live(strict)
	if err != nil {
		return err
	}
	if cur != h {
		defer cur.releaseTemp()
	}
	err = op(cur)
	if err != nil && !strict && cur.shared {
		next, rerr := cur.replaceIfStale()
		if rerr != nil {
			return errors.Join(err, rerr)
		}
		if next != cur {
			if next != h {
				defer next.releaseTemp()
			}
			cur = next
			err = op(cur)
		}
	}
	if err != nil && base.kind == baseRoot && cur.subset && errors.Is(err, unix.ENOENT) {
		u, uerr := buildHandle(false)
		if uerr != nil {
			return errors.Join(err, uerr)
		}
		defer u.releaseTemp()
		err = op(u)
	}
	return err
}
