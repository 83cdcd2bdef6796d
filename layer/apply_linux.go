package layer

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/safeunpack/safeunpack/pathrs"
)

// writeBufferSize is the buffer for sparse files' data (one pwrite(2) per
// MiB of data), and how much writeData asks for at a time; other files'
// data goes from the stream's chunks to write(2), one call per chunk.
// os.File.ReadFrom (what io.Copy would use) falls back to a 32 KiB loop,
// measured 63-79% slower (performance.md section 2).
const writeBufferSize = 1 << 20

// Apply applies one layer blob, read from blob to its end, onto root, with
// the semantics of the OCI image-spec (layer.md): entries are created,
// replaced or merged, whiteouts remove what lower layers put there, and
// metadata is applied as recorded. Every filesystem operation goes through
// root (pathrs), so nothing outside the root is read, created, changed or
// removed, whatever the layer holds and whatever a concurrent process does
// inside the root. See the package documentation for the full semantics.
//
// Effectively it is
//
//	tar -xpf blob -C rootfs --same-owner
//
// plus whiteouts, but a name, a symlink planted by an earlier layer or one
// swapped in concurrently can never lead outside rootfs (CVE-2018-15664,
// CVE-2021-29136), an existing file is never written through (T14, T21),
// and limits stop decompression and entry bombs.
//
// The blob is read to its end even after the tar end-of-archive marker, and
// the returned DiffID covers every uncompressed byte; the caller compares it
// with the image config's rootfs.diff_ids (and a verifying reader around
// blob checks the compressed digest at EOF).
//
// On error the root is left as far as the layer got: the caller discards
// it. Errors about the layer are an [*EntryError] naming the entry and the
// byte offset, matching [ErrInvalidArchive], [ErrInvalidEntry],
// [ErrInvalidWhiteout], [ErrLimitExceeded] or [ErrUnmappedID]; invalid
// options match [ErrInvalidOptions] and nothing is read. ctx cancellation
// stops both the decompressing goroutine and the applier; Apply returns only
// after its goroutines have exited (a blob whose Read blocks delays that
// until the Read returns).
func Apply(ctx context.Context, root *pathrs.Root, blob io.Reader, opts Options) (*Result, error) {
	cfg, err := opts.validate()
	if err != nil {
		return nil, err
	}
	if root == nil || blob == nil {
		return nil, fmt.Errorf("%w: nil root or blob", ErrInvalidOptions)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	rootDir, err := root.Dir()
	if err != nil {
		return nil, fmt.Errorf("layer: %w", err)
	}
	s := startStream(ctx, blob, cfg.compression, cfg.limits, cfg.gunzip)
	a := newApplier(root, rootDir, cfg, s)
	defer a.close()
	defer s.stopAndWait()
	return a.run(ctx)
}

// applier holds the state of one Apply.
type applier struct {
	root    *pathrs.Root
	rootDir *pathrs.Dir
	cfg     *config
	lim     Limits
	s       *stream
	er      *entryReader
	sr      *streamReader
	tr      *tarReader
	buf     []byte

	parents  *parentCache
	track    *tracker
	times    *dirTimes
	warn     *warnings
	progress *progressReporter
	res      Result
	// rl is the state of a rootless Apply (Options.Rootless), else nil.
	rl *rootlessState
	// w writes and finishes regular files (privileged Apply only: a
	// rootless one records what it applies in its own state).
	w *fileWriter
	// entryOffset is the offset of the current entry's header, for the
	// errors the fileWriter reports.
	entryOffset int64

	// sparseCharge is the logical size of sparse files so far: it counts
	// against MaxBytes on top of the stream bytes.
	sparseCharge int64
}

func newApplier(root *pathrs.Root, rootDir *pathrs.Dir, cfg *config, s *stream) *applier {
	a := &applier{
		root:    root,
		rootDir: rootDir,
		cfg:     cfg,
		lim:     cfg.limits,
		s:       s,
		er:      newEntryReader(s, cfg.limits),
		buf:     make([]byte, writeBufferSize),
		parents: &parentCache{root: rootDir},
		track:   newTracker(cfg.limits.MaxTrackedPaths),
		warn:    newWarnings(cfg.logger),
	}
	a.sr, a.tr = a.er.sr, a.er.tr
	a.times = newDirTimes(cfg.limits.MaxTrackedPaths, a.restoreTimes)
	if cfg.rootless {
		a.rl = newRootlessState()
		a.times.leave, a.times.end = a.leaveGrants, a.finishRootless
	} else {
		a.w = startFileWriter()
	}
	a.progress = newProgressReporter(cfg.progress, &s.compressed)
	return a
}

func (a *applier) close() {
	if a.w != nil {
		// Closes the files still queued; the error is the run's, if any.
		_ = a.w.finish()
	}
	if a.rl != nil {
		// After an error: give the directories opened up their image
		// modes back, as far as possible, and close their descriptors.
		_ = a.rl.grants.restore(func(grant) bool { return true })
	}
	a.sr.release()
	a.parents.closeAll()
	_ = a.rootDir.Close()
}

// run reads and applies every entry, then finishes the layer.
func (a *applier) run(ctx context.Context) (*Result, error) {
	for {
		hdr, off, err := a.er.next(ctx)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, a.failed(err)
		}
		a.res.Entries = a.er.entries
		a.entryOffset = off
		if err := a.applyEntry(hdr); err != nil {
			return nil, a.failed(&EntryError{Entry: hdr.Name, Offset: off, Err: err})
		}
		if a.w != nil {
			if err := a.w.firstErr(); err != nil {
				return nil, err
			}
		}
		a.progress.entry(a.res.Entries)
	}
	if a.w != nil {
		if err := a.w.finish(); err != nil {
			return nil, err
		}
	}
	if err := a.times.finish(); err != nil {
		return nil, a.er.errorf("restore directory times", err)
	}
	if err := a.er.finish(); err != nil {
		return nil, err
	}
	a.s.wait()
	diffID, err := a.s.diffID()
	if err != nil {
		return nil, err
	}
	a.res.DiffID = diffID
	a.res.Compression = a.s.comp
	a.res.CompressedBytes = a.s.compressed.Load()
	a.res.UncompressedBytes = a.s.uncompressed
	a.res.Warnings = a.warn.list()
	a.progress.done(a.res.Entries)
	res := a.res
	return &res, nil
}

// failed returns the error an Apply fails with when applying an entry
// failed with err: the fileWriter's, if it failed on an earlier entry.
func (a *applier) failed(err error) error {
	if a.w != nil {
		if werr := a.w.finish(); werr != nil {
			return werr
		}
	}
	return err
}

// applyEntry validates one header and applies it.
func (a *applier) applyEntry(hdr *tar.Header) error {
	e, err := parseEntry(hdr)
	if err != nil {
		return err
	}
	switch e.kind {
	case kindIgnore:
		a.res.Counts.Ignored++
		return nil
	case kindWhiteout:
		a.res.Counts.Whiteouts++
		return a.withAccess(func() error { return a.whiteout(e) }, e.target)
	case kindOpaque:
		a.res.Counts.Opaques++
		return a.withAccess(func() error { return a.opaque(e) }, e.target)
	}
	if e.path == rootPath {
		return a.rootEntry(e)
	}
	if err := a.times.enter(e.parent); err != nil {
		return err
	}
	var d *pathrs.Dir
	var ps parentState
	err = a.withAccess(func() (err error) {
		d, ps, err = a.parentDir(e.parent)
		return err
	}, e.parent)
	if err != nil {
		return err
	}
	switch e.kind {
	case kindFile:
		return a.file(d, ps, e)
	case kindDir:
		return a.dir(d, e)
	case kindSymlink:
		return a.symlink(d, ps, e)
	case kindHardlink:
		return a.hardlink(d, ps, e)
	case kindChar, kindBlock, kindFifo:
		return a.special(d, ps, e)
	}
	return fmt.Errorf("[bug] layer: unhandled entry kind %v", e.kind)
}
