package layer

import (
	"bufio"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"

	"github.com/opencontainers/go-digest"
)

// The uncompressed stream is produced by one goroutine (read the blob,
// decompress, count and bound the bytes) and consumed by two: a hasher
// computing the DiffID and the applier parsing tar. Chunks are shared by
// reference counting, so each byte is copied once out of the decompressor;
// headers are then copied into the tar parser's buffers, while file data
// goes from the chunk straight to write(2) (streamReader.sink), on the
// applier's goroutine or the fileWriter's, which then holds a reference.
// Decompression, hashing and extraction each get a core (performance.md
// section 3: the total is then about the slowest stage, not the sum).
const (
	// chunkSize is the unit handed between goroutines: large enough that
	// channel operations are negligible per byte (one per 256 KiB), small
	// enough that a chunk is still in the shared cache when the hasher and
	// the applier read it after the producer wrote it. Measured on the
	// Debian plain layer (docs/performance.md): 256 KiB chunks unpack it
	// 4% faster than 1 MiB ones; gzip and zstd layers do not change.
	chunkSize = 256 << 10
	// chunkQueue is how many chunks may wait for each consumer: 4 MiB of
	// slack, so that a slow entry (a large file, a directory removal) does
	// not stall decompression. With the chunk being filled and the one
	// being read, at most 2*chunkQueue+3 chunks (8.75 MiB) are alive,
	// plus those holding data queued for the fileWriter (maxQueuedBytes).
	chunkQueue = 16
)

type chunk struct {
	buf  []byte
	n    int
	refs atomic.Int32
}

var chunkPool = sync.Pool{New: func() any { return &chunk{buf: make([]byte, chunkSize)} }}

func (c *chunk) release() {
	if c.refs.Add(-1) == 0 {
		chunkPool.Put(c)
	}
}

// stream runs the producer and hasher goroutines of one layer.
type stream struct {
	// done and ctxErr are the caller's context, split so that no
	// context.Context is stored in a struct: the reader needs them inside
	// io.Reader.Read, which takes no context.
	done   <-chan struct{}
	ctxErr func() error
	data   chan *chunk // to the applier; closed by the producer when done
	hash   chan *chunk // to the hasher; closed by the producer when done
	stop   chan struct{}
	once   sync.Once
	wg     sync.WaitGroup

	compressed atomic.Int64 // blob bytes read, for progress reports

	// Written by the producer before it closes data (so read safely by
	// whoever sees data closed), or after wg.Wait.
	err          error
	uncompressed int64
	comp         Compression

	// Written by the hasher before it exits; read after wg.Wait.
	sum []byte
}

// startStream starts the goroutines reading blob. The caller must call
// stopAndWait exactly once, on every path.
func startStream(ctx context.Context, blob io.Reader, comp Compression, lim Limits, gunzip gunzipFunc) *stream {
	s := &stream{
		done:   ctx.Done(),
		ctxErr: ctx.Err,
		data:   make(chan *chunk, chunkQueue),
		hash:   make(chan *chunk, chunkQueue),
		stop:   make(chan struct{}),
	}
	s.wg.Add(2)
	go s.produce(blob, comp, lim, gunzip)
	go s.hashLoop()
	return s
}

// stopAndWait tells both goroutines to stop and waits for them. A producer
// blocked inside the blob's Read stops when that Read returns.
func (s *stream) stopAndWait() {
	s.once.Do(func() { close(s.stop) })
	s.wg.Wait()
}

// wait waits for both goroutines to finish on their own, after the reader
// has consumed the whole stream; the hasher then has seen every chunk.
func (s *stream) wait() { s.wg.Wait() }

// diffID returns the digest after a complete, successful stream (call it
// after the reader returned io.EOF and wait).
func (s *stream) diffID() (digest.Digest, error) {
	if s.sum == nil {
		return "", errors.New("[bug] layer: stream digest not computed")
	}
	return digest.NewDigestFromBytes(digest.SHA256, s.sum), nil
}

// countingReader counts blob bytes for progress reports and remembers the
// blob's own error, to tell host errors from corrupt data.
type countingReader struct {
	r   io.Reader
	n   *atomic.Int64
	err error
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	if err != nil && !errors.Is(err, io.EOF) {
		c.err = err
	}
	return n, err
}

func (s *stream) produce(blob io.Reader, comp Compression, lim Limits, gunzip gunzipFunc) {
	defer s.wg.Done()
	defer close(s.hash)
	defer close(s.data)
	cr := &countingReader{r: blob, n: &s.compressed}
	br := bufio.NewReaderSize(cr, blobBufferSize)
	dec, comp, err := openDecompressor(br, comp, lim, gunzip)
	s.comp = comp
	if err != nil {
		s.err = s.classify(cr, comp, lim, err)
		return
	}
	defer dec.close()
	for {
		if err := s.ctxErr(); err != nil {
			s.err = err
			return
		}
		c := chunkPool.Get().(*chunk)
		n, rerr := readFull(dec.r, c.buf)
		if n > 0 {
			s.uncompressed += int64(n)
			if s.uncompressed > lim.MaxBytes {
				chunkPool.Put(c)
				s.err = &LimitError{Limit: "MaxBytes", Value: lim.MaxBytes}
				return
			}
			c.n = n
			c.refs.Store(2)
			if !s.send(s.hash, c) {
				return
			}
			if !s.send(s.data, c) {
				return
			}
		} else {
			chunkPool.Put(c)
		}
		if errors.Is(rerr, io.EOF) {
			// The decompressed stream is complete; read the blob to its
			// end too, so that a verifying reader around it sees EOF.
			if _, err := io.Copy(io.Discard, br); err != nil {
				s.err = fmt.Errorf("reading blob: %w", err)
			}
			return
		}
		if rerr != nil {
			s.err = s.classify(cr, comp, lim, rerr)
			return
		}
	}
}

// classify turns a producer error into the error the applier reports: the
// blob reader's own failure stays a host error, anything else is about the
// data.
func (s *stream) classify(cr *countingReader, comp Compression, lim Limits, err error) error {
	if cr.err != nil && errors.Is(err, cr.err) {
		return fmt.Errorf("reading blob: %w", err)
	}
	if errors.Is(err, ErrUnsupportedCompression) {
		return err
	}
	return decompressError(comp, lim, err)
}

// send hands c to a consumer, or gives up when the stream is stopped or the
// context is done (setting s.err in that case).
func (s *stream) send(ch chan<- *chunk, c *chunk) bool {
	select {
	case ch <- c:
		return true
	case <-s.stop:
		return false
	case <-s.done:
		s.err = s.ctxErr()
		return false
	}
}

// maxEmptyReads bounds consecutive (0, nil) reads before giving up with
// io.ErrNoProgress, as bufio does: io.Pipe delivers a zero-length write as
// an empty read, so a few in a row are legitimate.
const maxEmptyReads = 100

// readFull reads into buf until it is full or r fails; unlike io.ReadFull it
// returns io.EOF (not io.ErrUnexpectedEOF) at the end of a partial buffer.
func readFull(r io.Reader, buf []byte) (int, error) {
	n, empty := 0, 0
	for n < len(buf) {
		m, err := r.Read(buf[n:])
		n += m
		if err != nil {
			return n, err
		}
		if m > 0 {
			empty = 0
		} else if empty++; empty >= maxEmptyReads {
			return n, io.ErrNoProgress
		}
	}
	return n, nil
}

func (s *stream) hashLoop() {
	defer s.wg.Done()
	h := sha256.New()
	for {
		select {
		case c, ok := <-s.hash:
			if !ok {
				s.sum = h.Sum(nil)
				return
			}
			h.Write(c.buf[:c.n])
			c.release()
		case <-s.stop:
			return
		}
	}
}

// streamReader is the applier's view of the uncompressed stream. It tracks
// the offset of the next byte, which error messages report.
type streamReader struct {
	s   *stream
	cur *chunk
	off int
	pos int64
	// err is the last error Read returned other than io.EOF: the tar
	// reader may wrap it, and the applier must tell it from its own.
	err error
	// skipped counts bytes skipped with Seek since the entry reader last
	// reset it.
	skipped int64
	// sink, while set, receives the bytes Read hands out, straight from
	// the chunk: see writeData. sinkErr is its first failure.
	sink    chunkSink
	sinkErr error
	// pending holds bytes given back with unread: Read, Seek and drain
	// serve them before the current chunk.
	pending []byte
}

// chunkSink receives file data straight from the stream. c is the chunk
// holding b, which the sink may keep past the call by taking a reference
// (c.refs); c is nil when b is not in a chunk (bytes given back with
// unread), and then b is valid only during the call.
type chunkSink interface {
	take(c *chunk, b []byte) error
}

// unread gives b back: the next reads return b before anything else. b
// must be the bytes just read (pos moves back over them).
func (r *streamReader) unread(b []byte) {
	r.pending = append(b[:len(b):len(b)], r.pending...)
	r.pos -= int64(len(b))
}

// readPending serves a Read from the unread bytes.
func (r *streamReader) readPending(p []byte) (int, error) {
	n := min(len(p), len(r.pending))
	if r.sink != nil {
		if err := r.sink.take(nil, r.pending[:n]); err != nil {
			r.sinkErr = err
			return 0, err
		}
	} else {
		copy(p, r.pending[:n])
	}
	r.pending = r.pending[n:]
	r.pos += int64(n)
	return n, nil
}

// fill makes sure the current chunk has unread bytes; it returns io.EOF at
// the end of the stream or the stream's error.
func (r *streamReader) fill() error {
	for r.cur == nil || r.off >= r.cur.n {
		if r.cur != nil {
			r.cur.release()
			r.cur = nil
		}
		select {
		case c, ok := <-r.s.data:
			if !ok {
				if r.s.err != nil {
					r.err = r.s.err
					return r.err
				}
				return io.EOF
			}
			r.cur, r.off = c, 0
		case <-r.s.done:
			r.err = r.s.ctxErr()
			return r.err
		}
	}
	return nil
}

func (r *streamReader) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	if len(r.pending) > 0 {
		return r.readPending(p)
	}
	if err := r.fill(); err != nil {
		return 0, err
	}
	n := min(len(p), r.cur.n-r.off)
	if r.sink != nil {
		if err := r.sink.take(r.cur, r.cur.buf[r.off:r.off+n]); err != nil {
			r.sinkErr = err
			return 0, err
		}
	} else {
		copy(p, r.cur.buf[r.off:r.off+n])
	}
	r.off += n
	r.pos += int64(n)
	return n, nil
}

// Seek skips forward (whence io.SeekCurrent, offset >= 0 only). archive/tar
// uses it to skip the data of entries nobody read (a sparse file's data is
// skipped without synthesising its holes), and skipped tells the entry
// reader how much data preceded the next header.
func (r *streamReader) Seek(offset int64, whence int) (int64, error) {
	if whence != io.SeekCurrent || offset < 0 {
		return r.pos, errors.New("[bug] layer: the stream only skips forward")
	}
	if n := min(offset, int64(len(r.pending))); n > 0 {
		r.pending = r.pending[n:]
		r.pos += n
		r.skipped += n
		offset -= n
	}
	for offset > 0 {
		if err := r.fill(); err != nil {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return r.pos, err
		}
		n := min(offset, int64(r.cur.n-r.off))
		r.off += int(n)
		r.pos += n
		r.skipped += n
		offset -= n
	}
	return r.pos, nil
}

// drain consumes the rest of the stream (the bytes after the tar
// end-of-archive blocks belong to the DiffID too) and returns the stream's
// error, if any.
func (r *streamReader) drain() error {
	r.pos += int64(len(r.pending))
	r.pending = nil
	for {
		if r.cur != nil {
			r.pos += int64(r.cur.n - r.off)
			r.cur.release()
			r.cur = nil
		}
		select {
		case c, ok := <-r.s.data:
			if !ok {
				r.err = r.s.err
				return r.err
			}
			r.cur, r.off = c, 0
		case <-r.s.done:
			r.err = r.s.ctxErr()
			return r.err
		}
	}
}

// release returns the current chunk to the pool.
func (r *streamReader) release() {
	if r.cur != nil {
		r.cur.release()
		r.cur = nil
	}
}
