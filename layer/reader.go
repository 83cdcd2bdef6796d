package layer

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
)

// blockSize is the tar block size; every header starts on a multiple of it.
const blockSize = 512

// entryReader walks the tar entries of a stream for Apply and Audit,
// enforcing MaxEntries and MaxHeaderSize and reporting errors as
// *EntryError with the entry's name and offset.
type entryReader struct {
	sr      *streamReader
	tr      *tarReader
	lim     Limits
	entries int64
	// last is the name of the last entry read, for errors between entries.
	last string
}

func newEntryReader(s *stream, lim Limits) *entryReader {
	sr := &streamReader{s: s}
	return &entryReader{sr: sr, tr: newTarReader(sr, lim), lim: lim}
}

// next reads the next header and returns it with the offset of its ustar
// block. It returns io.EOF at the end of the archive.
func (r *entryReader) next(ctx context.Context) (*tar.Header, int64, error) {
	if err := ctx.Err(); err != nil {
		return nil, 0, r.errorf("", err)
	}
	hdr, err := r.tr.Next()
	if errors.Is(err, io.EOF) {
		return nil, 0, io.EOF
	}
	if err != nil {
		return nil, 0, r.errorf("read header", r.classify(err))
	}
	r.entries++
	off := r.tr.hdrEnd - blockSize
	r.last = hdr.Name
	if r.entries > r.lim.MaxEntries {
		return nil, 0, &EntryError{Entry: hdr.Name, Offset: off, Err: &LimitError{Limit: "MaxEntries", Value: r.lim.MaxEntries}}
	}
	if r.tr.hdrEnd-r.tr.hdrStart > r.lim.MaxHeaderSize {
		return nil, 0, &EntryError{Entry: hdr.Name, Offset: off, Err: &LimitError{Limit: "MaxHeaderSize", Value: r.lim.MaxHeaderSize}}
	}
	return hdr, off, nil
}

// errorf is an error between entries (after the last one read).
func (r *entryReader) errorf(op string, err error) error {
	return &EntryError{After: r.last, Offset: r.sr.pos, Op: op, Err: err}
}

// finish reads the rest of the stream after the end-of-archive marker
// (those bytes belong to the DiffID too).
func (r *entryReader) finish() error {
	if err := r.sr.drain(); err != nil {
		return r.errorf("read trailing data", r.classify(err))
	}
	return nil
}

// classify turns an error from the tar reader into the error reported:
// failures of the stream itself (limits, corrupt compression, the blob's
// own read errors, cancellation) pass through; anything archive/tar
// detected (a bad header, a truncated entry) is ErrInvalidArchive.
func (r *entryReader) classify(err error) error {
	var le *LimitError
	switch {
	case errors.As(err, &le),
		errors.Is(err, ErrInvalidArchive),
		errors.Is(err, ErrUnsupportedCompression),
		errors.Is(err, context.Canceled),
		errors.Is(err, context.DeadlineExceeded):
		return err
	case r.sr.err != nil && errors.Is(err, r.sr.err):
		return err
	}
	return fmt.Errorf("%w: %w", ErrInvalidArchive, err)
}
