package layer

import (
	"errors"
	"fmt"
	"io"

	"github.com/safeunpack/safeunpack/pathrs"
)

// file applies a regular-file entry: a new inode created with O_EXCL (an
// existing entry is replaced, never written through), its data written in
// large raw writes (holes of sparse files skipped), then metadata through
// the descriptor itself.
func (a *applier) file(d *pathrs.Dir, ps parentState, e *entry) (err error) {
	if err := a.chargeFile(e); err != nil {
		return err
	}
	var f *newFile
	err = a.createReplacing(d, e, func() error {
		var cerr error
		f, cerr = createFile(d, e.name)
		return cerr
	})
	if err != nil {
		return fmt.Errorf("create: %w", err)
	}
	defer func() {
		if cerr := f.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("close: %w", cerr)
		}
	}()
	if err := a.track.createdNonDir(e.path, ps); err != nil {
		return err
	}
	var n int64
	if e.sparse {
		n, err = a.writeSparse(f, e.size)
	} else {
		n, err = a.writeData(f)
	}
	if err != nil {
		return err
	}
	if n != e.size {
		return fmt.Errorf("%w: wrote %d bytes, header says %d", ErrInvalidArchive, n, e.size)
	}
	a.res.Bytes += n
	a.res.Counts.Files++
	setgid, err := a.parents.setgid(d)
	if err != nil {
		return err
	}
	return a.applyMetadata(a.freshFileTarget(f, setgid), e, false)
}

// chargeFile checks a file's size against MaxBytes before anything is
// written, so that a declared 8 EiB file fails at once with an error
// naming the limit. Sparse files are charged their logical size on top of
// the stream bytes (their holes cost nothing to transmit).
func (a *applier) chargeFile(e *entry) error {
	used := a.sr.pos + a.sparseCharge
	if e.size > a.lim.MaxBytes-used {
		return &LimitError{Limit: "MaxBytes", Value: a.lim.MaxBytes}
	}
	if e.sparse {
		a.sparseCharge += e.size
	}
	return nil
}

// writeData writes the entry's data to f straight out of the stream's
// chunks (streamReader.sink): archive/tar only counts the bytes, so each
// byte is copied once, by write(2), not first into a buffer.
func (a *applier) writeData(f *newFile) (int64, error) {
	a.sr.sink, a.sr.sinkErr = f, nil
	defer func() { a.sr.sink = nil }()
	var total int64
	for {
		n, err := a.tr.Read(a.buf)
		total += int64(n)
		if errors.Is(err, io.EOF) {
			return total, nil
		}
		if a.sr.sinkErr != nil {
			return total, fmt.Errorf("write: %w", a.sr.sinkErr)
		}
		if err != nil {
			return total, fmt.Errorf("read data: %w", a.er.classify(err))
		}
	}
}
