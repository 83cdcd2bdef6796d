package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/safeunpack/safeunpack/unpack"
)

// progressInterval is how often the bar is redrawn at most.
const progressInterval = 100 * time.Millisecond

// barWidth is the number of cells of the bar itself.
const barWidth = 24

// isTerminal reports whether f is a terminal (TCGETS succeeds on it).
func isTerminal(f *os.File) bool {
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}

// progressBar draws one self-overwriting line on a terminal: layer, bytes
// and entries. It is used only when stderr is a terminal.
type progressBar struct {
	w     io.Writer
	now   func() time.Time
	mu    sync.Mutex
	last  time.Time
	drawn bool
}

func newProgressBar(w io.Writer) *progressBar {
	return &progressBar{w: w, now: time.Now}
}

// update redraws the bar, at most every progressInterval, and always for
// the first report of a layer.
func (b *progressBar) update(p unpack.Progress) {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.now()
	if b.drawn && now.Sub(b.last) < progressInterval {
		return
	}
	b.last = now
	b.drawn = true
	fmt.Fprint(b.w, "\r\x1b[K"+renderProgress(p))
}

// done clears the bar's line.
func (b *progressBar) done() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.drawn {
		fmt.Fprint(b.w, "\r\x1b[K")
		b.drawn = false
	}
}

// renderProgress formats one progress line, without control characters.
func renderProgress(p unpack.Progress) string {
	var s strings.Builder
	if p.Layers > 0 {
		fmt.Fprintf(&s, "layer %d/%d ", p.Layer, p.Layers)
	}
	if p.TotalBytes > 0 {
		frac := float64(p.Bytes) / float64(p.TotalBytes)
		frac = min(max(frac, 0), 1)
		filled := int(frac * barWidth)
		fmt.Fprintf(&s, "[%s%s] %3d%% ", strings.Repeat("#", filled), strings.Repeat(".", barWidth-filled), int(frac*100))
		fmt.Fprintf(&s, "%s/%s", humanBytes(p.Bytes), humanBytes(p.TotalBytes))
	} else {
		s.WriteString(humanBytes(p.Bytes))
	}
	fmt.Fprintf(&s, ", %d entries", p.Entries)
	return s.String()
}
