package layer

import (
	"sync/atomic"
	"time"
)

// progressInterval throttles Options.Progress: often enough for a smooth
// progress bar, rare enough to cost nothing per entry.
const progressInterval = 100 * time.Millisecond

// progressCheckEvery is how many entries pass between clock reads.
const progressCheckEvery = 64

// progressReporter calls the callback at most every progressInterval.
type progressReporter struct {
	fn         func(Progress)
	compressed *atomic.Int64
	last       time.Time
	n          int
}

func newProgressReporter(fn func(Progress), compressed *atomic.Int64) *progressReporter {
	return &progressReporter{fn: fn, compressed: compressed, last: time.Now()}
}

// entry is called after each entry with the running count.
func (p *progressReporter) entry(entries int64) {
	if p.fn == nil {
		return
	}
	p.n++
	if p.n%progressCheckEvery != 0 {
		return
	}
	if now := time.Now(); now.Sub(p.last) >= progressInterval {
		p.last = now
		p.fn(Progress{CompressedBytes: p.compressed.Load(), Entries: entries})
	}
}

// done reports the final counts.
func (p *progressReporter) done(entries int64) {
	if p.fn != nil {
		p.fn(Progress{CompressedBytes: p.compressed.Load(), Entries: entries})
	}
}
