//go:build linux

package main

import (
	"encoding/binary"
	"io"
	"math"
	"math/rand/v2"
	"strings"
)

// contentKind selects how compressible a synthetic file is.
type contentKind int

const (
	// contentText is words from a Zipf-like vocabulary (about 3:1 with gzip).
	contentText contentKind = iota
	// contentBinary mixes near-zero, low-entropy and random 4 KiB blocks,
	// like executables (about 2:1).
	contentBinary
	// contentRandom is incompressible, like already-compressed files.
	contentRandom
)

// contentGen produces unique synthetic file contents: nothing repeats across
// files, so no compressor window sees duplicated data.
type contentGen struct {
	r     *rand.Rand
	vocab []string
	buf   []byte
}

func newContentGen(r *rand.Rand) *contentGen {
	vocab := make([]string, 4096)
	for i := range vocab {
		var b strings.Builder
		for range 2 + r.IntN(10) {
			b.WriteByte(byte('a' + r.IntN(26)))
		}
		vocab[i] = b.String()
	}
	return &contentGen{r: r, vocab: vocab, buf: make([]byte, ioBufSize)}
}

// write writes size bytes of kind to w.
func (g *contentGen) write(w io.Writer, kind contentKind, size int64) error {
	for size > 0 {
		n := int(min(size, int64(len(g.buf))))
		b := g.buf[:n]
		switch kind {
		case contentText:
			g.fillText(b)
		case contentBinary:
			g.fillBinary(b)
		default:
			g.fillRandom(b)
		}
		if _, err := w.Write(b); err != nil {
			return err
		}
		size -= int64(n)
	}
	return nil
}

func (g *contentGen) fillText(b []byte) {
	lnV := math.Log(float64(len(g.vocab)))
	i, words := 0, 0
	for i < len(b) {
		w := g.vocab[int(math.Exp(g.r.Float64()*lnV))-1]
		i += copy(b[i:], w)
		if i < len(b) {
			words++
			b[i] = ' '
			if words%11 == 0 {
				b[i] = '\n'
			}
			i++
		}
	}
}

func (g *contentGen) fillBinary(b []byte) {
	const block = 4096
	for off := 0; off < len(b); off += block {
		end := min(off+block, len(b))
		var mask uint64
		switch x := g.r.IntN(10); {
		case x < 3:
			mask = 0x0100_0000_0001_0001
		case x < 7:
			mask = 0x0f0f_0f0f_0f0f_0f0f
		default:
			mask = math.MaxUint64
		}
		g.fill(b[off:end], mask)
	}
}

func (g *contentGen) fillRandom(b []byte) { g.fill(b, math.MaxUint64) }

func (g *contentGen) fill(b []byte, mask uint64) {
	i := 0
	for ; i+8 <= len(b); i += 8 {
		binary.LittleEndian.PutUint64(b[i:], g.r.Uint64()&mask)
	}
	for ; i < len(b); i++ {
		b[i] = byte(g.r.Uint64() & mask)
	}
}
