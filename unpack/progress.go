package unpack

import (
	"sync"

	"github.com/safeunpack/safeunpack/layer"
)

// progressEvery is how many compressed bytes pass between reports made from
// the blob reader, for layer implementations that report rarely.
const progressEvery = 1 << 20

// progressTracker merges the byte counts seen by the blob reader with the
// entry counts reported by the layer package into cumulative [Progress]
// reports. Its methods may be called from several goroutines.
type progressTracker struct {
	fn func(Progress)

	mu          sync.Mutex
	p           Progress
	doneBytes   int64 // bytes of finished layers
	doneEntries int64 // entries of finished layers
	layerBytes  int64
	lastReport  int64
}

// newProgressTracker returns nil (a valid no-op tracker) when fn is nil.
func newProgressTracker(fn func(Progress), layers int, total int64) *progressTracker {
	if fn == nil {
		return nil
	}
	return &progressTracker{fn: fn, p: Progress{Layers: layers, TotalBytes: total}}
}

// startLayer begins layer i (1-based).
func (t *progressTracker) startLayer(i int) {
	if t == nil {
		return
	}
	t.mu.Lock()
	t.p.Layer = i
	t.layerBytes = 0
	t.report()
	t.mu.Unlock()
}

// bytesRead is called by the blob reader with the layer's bytes so far.
func (t *progressTracker) bytesRead(n int64) {
	if t == nil {
		return
	}
	t.mu.Lock()
	t.layerBytes = max(t.layerBytes, n)
	t.p.Bytes = t.doneBytes + t.layerBytes
	if t.p.Bytes-t.lastReport >= progressEvery {
		t.report()
	}
	t.mu.Unlock()
}

// layerFunc returns the callback for layer.Options.Progress (nil for a nil
// tracker).
func (t *progressTracker) layerFunc() func(layer.Progress) {
	if t == nil {
		return nil
	}
	return t.layerProgress
}

func (t *progressTracker) layerProgress(lp layer.Progress) {
	t.mu.Lock()
	t.layerBytes = max(t.layerBytes, lp.CompressedBytes)
	t.p.Bytes = t.doneBytes + t.layerBytes
	t.p.Entries = t.doneEntries + lp.Entries
	t.report()
	t.mu.Unlock()
}

// endLayer records a finished layer's totals.
func (t *progressTracker) endLayer(size, entries int64) {
	if t == nil {
		return
	}
	t.mu.Lock()
	t.doneBytes += size
	t.doneEntries += entries
	t.layerBytes = 0
	t.p.Bytes, t.p.Entries = t.doneBytes, t.doneEntries
	t.report()
	t.mu.Unlock()
}

func (t *progressTracker) report() {
	t.lastReport = t.p.Bytes
	t.fn(t.p)
}

// countingReader reports bytes read to a tracker.
type countingReader struct {
	r interface{ Read([]byte) (int, error) }
	n int64
	t *progressTracker
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	c.t.bytesRead(c.n)
	return n, err
}
