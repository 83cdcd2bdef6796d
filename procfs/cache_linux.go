package procfs

import "sync/atomic"

// cached is the process-wide handle: the only package-level mutable state
// besides the test seams. It only ever holds a verified, detached,
// subset=pid fsopen handle (libpathrs caches the same kind, PR #249): such a
// handle, even leaked to a child, exposes neither /proc/sys nor
// /proc/sysrq-trigger nor any mount of the host. It is replaced, never
// closed, when found stale: its fd number may by then belong to someone
// else.
var cached atomic.Pointer[Handle]

// cacheable reports whether h may become the cached handle.
func (h *Handle) cacheable() bool {
	return h.rung == RungFsopen && h.subset && h.detached
}

// defaultHandle returns the cached handle without revalidating it (the
// caller's operation does that), or builds one. A non-cacheable result is
// temporary: release it with releaseTemp.
func defaultHandle() (*Handle, error) {
	if h := cached.Load(); h != nil {
		return h, nil
	}
	return sharedHandle(nil)
}

// sharedHandle builds a handle to replace stale (nil when nothing is
// cached yet) and publishes it if it is cacheable. Concurrent builders race
// to publish; losers close their own handle and use the winner's.
func sharedHandle(stale *Handle) (*Handle, error) {
	if cur := cached.Load(); cur != nil && cur != stale {
		return cur, nil
	}
	h, err := buildHandle(true)
	if err != nil {
		return nil, err
	}
	if !h.cacheable() {
		return h, nil
	}
	h.shared = true
	for {
		cur := cached.Load()
		if cur != nil && cur != stale {
			h.shared = false
			_ = h.Close()
			return cur, nil
		}
		if cached.CompareAndSwap(cur, h) {
			return h, nil
		}
	}
}
