package layer

import (
	"bytes"
	"errors"
	"fmt"
	"io"
)

// holeBlock is the granularity of hole detection: the page and block size
// of the common filesystems, so a skipped block is a real hole.
const holeBlock = 4096

var zeroBlock [holeBlock]byte

// writeSparse writes a GNU or PAX sparse entry. archive/tar hides the
// sparse map and reads holes back as zeros, so holes are found again here:
// every all-zero block-aligned block is skipped with a positioned write
// past it, never written, and the file is finally extended to its logical
// size with ftruncate. A declared size of terabytes therefore costs no
// disk (threats.md T35); the logical size was already checked against
// MaxBytes by chargeFile. archive/tar still fills our buffer with the
// synthesised zeros of each hole (a memclr, some 30 s of CPU per TiB of
// holes); tighten Limits.MaxBytes to bound that too.
func (a *applier) writeSparse(f *newFile, size int64) (int64, error) {
	var off int64
	for {
		before := a.sr.pos
		n, err := readFull(a.tr, a.buf)
		// When the stream did not move, archive/tar synthesised all of
		// buf from the sparse map: a hole, skipped without looking.
		if a.sr.pos != before {
			if werr := writeNonZero(f, a.buf[:n], off); werr != nil {
				return off, fmt.Errorf("write: %w", werr)
			}
		}
		off += int64(n)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return off, fmt.Errorf("read data: %w", a.er.classify(err))
		}
	}
	if off != size {
		return off, nil // the caller reports the mismatch
	}
	if err := f.Truncate(size); err != nil {
		return off, fmt.Errorf("truncate to %d: %w", size, err)
	}
	return off, nil
}

// writeNonZero writes the non-zero blocks of buf at file offset off
// (a multiple of holeBlock, since the buffer size is).
func writeNonZero(f *newFile, buf []byte, off int64) error {
	isZero := func(i int) bool {
		end := min(i+holeBlock, len(buf))
		return bytes.Equal(buf[i:end], zeroBlock[:end-i])
	}
	for i := 0; i < len(buf); {
		j := i
		for j < len(buf) && !isZero(j) {
			j += holeBlock
		}
		j = min(j, len(buf))
		if j > i {
			if _, err := f.WriteAt(buf[i:j], off+int64(i)); err != nil {
				return err
			}
		}
		for j < len(buf) && isZero(j) {
			j += holeBlock
		}
		i = min(j, len(buf))
	}
	return nil
}
