package layer

import (
	"bytes"
	"fmt"
	"sync"
	"sync/atomic"
)

// The applier creates each regular file itself (resolving, replacing and
// tracking stay on one goroutine, in archive order), then hands the open
// descriptor, the data still in the stream's chunks, and the metadata to a
// fileWriter, which writes, sets the metadata and closes on a goroutine of
// its own. On a plain layer the applier was the slowest stage, nearly half
// of it in write(2) (docs/performance.md); this spreads the work over
// both cores. The writer only ever uses descriptors the applier opened
// with O_EXCL: no path, no resolution, so nothing about pathrs's
// guarantees changes.
const (
	// writerQueue is how many jobs may wait for the writer, each holding
	// one descriptor. Bursts of small files need a deep queue: on the
	// Debian plain layer 32 jobs unpack 6% faster than 8, and 64 (bounded
	// by maxQueuedBytes) another 2%.
	writerQueue = 64
	// maxJobBytes is where a large file's data is cut into several jobs,
	// so that the writer starts on it early.
	maxJobBytes = 512 << 10
	// maxQueuedBytes bounds the data waiting for the writer: the chunks
	// holding it stay alive until it is written, on top of the stream's
	// own (chunkQueue). A job is at most maxJobBytes plus one piece.
	maxQueuedBytes = 8 << 20
)

// writeJob is part of one file: data to write in order and, in the file's
// last job, what to do before closing it.
type writeJob struct {
	f      *newFile
	pieces []piece
	bytes  int // in pieces
	// last marks the file's last job: meta is set (unless abandoned), then
	// f is closed.
	last      bool
	abandoned bool
	meta      metadata
	// entry and offset name the file in errors.
	entry  string
	offset int64
}

// piece is file data inside a chunk the job holds a reference to.
type piece struct {
	c *chunk // nil for a copy that belongs to the job
	b []byte
}

// fileWriter runs the writer goroutine of one Apply.
type fileWriter struct {
	jobs   chan *writeJob
	done   chan struct{}
	closed bool // jobs is closed (applier side only)

	// mu guards queued, the data bytes sent and not yet written (the
	// applier waits on room while it would exceed maxQueuedBytes), and
	// err, the first failure (an *EntryError), which failed announces.
	mu     sync.Mutex
	room   *sync.Cond
	queued int
	err    error
	failed atomic.Bool
}

func startFileWriter() *fileWriter {
	w := &fileWriter{jobs: make(chan *writeJob, writerQueue), done: make(chan struct{})}
	w.room = sync.NewCond(&w.mu)
	go w.loop()
	return w
}

func (w *fileWriter) loop() {
	defer close(w.done)
	for j := range w.jobs {
		err := w.run(j)
		w.written(j.bytes)
		if err != nil && !w.failed.Load() {
			// err is set before failed, so that whoever sees failed
			// finds it.
			w.mu.Lock()
			w.err = &EntryError{Entry: j.entry, Offset: j.offset, Err: err}
			w.mu.Unlock()
			w.failed.Store(true)
		}
	}
}

// run does one job. After a failure anywhere, jobs only release what
// they hold and close their file: the Apply fails anyway.
func (w *fileWriter) run(j *writeJob) (err error) {
	skip := j.abandoned || w.failed.Load()
	for _, p := range j.pieces {
		if err == nil && !skip {
			if _, werr := j.f.Write(p.b); werr != nil {
				err = fmt.Errorf("write: %w", werr)
			}
		}
		if p.c != nil {
			p.c.release()
		}
	}
	if !j.last {
		return err
	}
	if err == nil && !skip {
		err = j.meta.apply(fileTarget(j.f), nil)
	}
	if cerr := j.f.Close(); cerr != nil && err == nil && !skip {
		err = fmt.Errorf("close: %w", cerr)
	}
	return err
}

// send queues j, once the data queued leaves room for it.
func (w *fileWriter) send(j *writeJob) {
	w.mu.Lock()
	for w.queued > 0 && w.queued+j.bytes > maxQueuedBytes {
		w.room.Wait()
	}
	w.queued += j.bytes
	w.mu.Unlock()
	w.jobs <- j
}

// written gives back the room of n bytes.
func (w *fileWriter) written(n int) {
	if n == 0 {
		return
	}
	w.mu.Lock()
	w.queued -= n
	w.mu.Unlock()
	w.room.Signal()
}

// firstErr returns the writer's first failure, or nil.
func (w *fileWriter) firstErr() error {
	if !w.failed.Load() {
		return nil
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}

// finish waits until every job is done and returns the first failure.
func (w *fileWriter) finish() error {
	if !w.closed {
		w.closed = true
		close(w.jobs)
	}
	<-w.done
	return w.firstErr()
}

// jobSink collects one file's data for the writer, as the streamReader's
// sink: chunk data is referenced, not copied, and handed over in jobs of
// at most maxJobBytes.
type jobSink struct {
	w   *fileWriter
	job *writeJob
}

func (w *fileWriter) newSink(f *newFile, entry string, offset int64) *jobSink {
	return &jobSink{w: w, job: &writeJob{f: f, entry: entry, offset: offset}}
}

func (s *jobSink) take(c *chunk, b []byte) error {
	if c == nil {
		b = bytes.Clone(b)
	} else {
		c.refs.Add(1)
	}
	s.job.pieces = append(s.job.pieces, piece{c: c, b: b})
	s.job.bytes += len(b)
	if s.job.bytes >= maxJobBytes {
		s.flush()
	}
	return nil
}

// flush sends the data collected so far.
func (s *jobSink) flush() {
	j := s.job
	s.job = &writeJob{f: j.f, entry: j.entry, offset: j.offset}
	s.w.send(j)
}

// finish sends the file's last job: the rest of its data and m.
func (s *jobSink) finish(m metadata) {
	s.job.last, s.job.meta = true, m
	s.w.send(s.job)
	s.job = nil
}

// abandon hands the file over to be closed without writing the rest or
// setting metadata, when the applier fails before the file's last job
// (earlier jobs of the file may still be queued, so the writer closes it).
func (s *jobSink) abandon() {
	if s.job == nil {
		return
	}
	s.job.last, s.job.abandoned = true, true
	s.w.send(s.job)
	s.job = nil
}
