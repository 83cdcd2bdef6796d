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
// the descriptor itself. Most files are written and finished by the
// fileWriter; the applier only creates them.
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
	if a.w != nil && writerFinishes(e) {
		return a.fileByWriter(d, ps, e, f)
	}
	defer func() {
		if cerr := f.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("close: %w", cerr)
		}
	}()
	setgid, err := a.fileData(d, ps, e, func() (int64, error) {
		if e.sparse {
			return a.writeSparse(f, e.size)
		}
		return a.writeData(f)
	})
	if err != nil {
		return err
	}
	return a.applyMetadata(a.freshFileTarget(f, setgid), e, false)
}

// writerFinishes reports whether the fileWriter can finish e: not a sparse
// file (its holes are written with pwrite and ftruncate) and no xattrs
// (whose failures the applier turns into warnings).
func writerFinishes(e *entry) bool {
	return !e.sparse && len(e.xattrs) == 0 && len(e.dropped) == 0
}

// fileByWriter reads f's data and metadata and hands them to the
// fileWriter, which owns f from then on.
func (a *applier) fileByWriter(d *pathrs.Dir, ps parentState, e *entry, f *newFile) (err error) {
	s := a.w.newSink(f, e.hdr.Name, a.entryOffset)
	defer func() {
		if err != nil {
			s.abandon()
		}
	}()
	setgid, err := a.fileData(d, ps, e, func() (int64, error) { return a.writeData(s) })
	if err != nil {
		return err
	}
	m, err := a.metadataOf(a.freshFileTarget(f, setgid), e)
	if err != nil {
		return err
	}
	s.finish(m)
	return nil
}

// fileData records the new file, passes its data on with write and
// reports whether its directory is setgid.
func (a *applier) fileData(d *pathrs.Dir, ps parentState, e *entry, write func() (int64, error)) (setgid bool, err error) {
	if err := a.track.createdNonDir(e.path, ps); err != nil {
		return false, err
	}
	n, err := write()
	if err != nil {
		return false, err
	}
	if n != e.size {
		return false, fmt.Errorf("%w: wrote %d bytes, header says %d", ErrInvalidArchive, n, e.size)
	}
	a.res.Bytes += n
	a.res.Counts.Files++
	return a.parents.setgid(d)
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
func (a *applier) writeData(sink chunkSink) (int64, error) {
	a.sr.sink, a.sr.sinkErr = sink, nil
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
