package layer

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/safeunpack/safeunpack/internal/testutil"
	"github.com/safeunpack/safeunpack/pathrs"
)

// writerLayer is a layer of files the fileWriter finishes: small ones, and
// large ones cut into several jobs, each with its own mode and times.
func writerLayer(t testing.TB, files int) ([]byte, map[string]*tar.Header) {
	b := newTar(t)
	want := map[string]*tar.Header{}
	for i := range files {
		size := 100 + i*7
		if i%5 == 0 {
			size = 2*maxJobBytes + chunkSize/3 + i // several jobs, unaligned
		}
		hdr := &tar.Header{
			Typeflag: tar.TypeReg,
			Name:     fmt.Sprintf("d%d/f%d", i%3, i),
			Mode:     int64([]uint32{0o644, 0o600, 0o755, 0o4755, 0o2711}[i%5]),
			Size:     int64(size),
			Uid:      os.Geteuid(),
			Gid:      os.Getegid(),
			ModTime:  time.Unix(int64(1e9+i*3600), int64(i)*1000).UTC(),
		}
		b.Header(hdr, bytes.Repeat([]byte{byte('a' + i%26)}, size))
		want[hdr.Name] = hdr
	}
	return b.Bytes(), want
}

// TestFileWriterFinishesFiles: every file the writer finishes has its
// data, mode (setuid and setgid included, so set after the owner) and
// mtime (set after the last write, or a later write would move it).
func TestFileWriterFinishesFiles(t *testing.T) {
	forEachBackend(t, func(t *testing.T, res pathrs.Resolver) {
		data, want := writerLayer(t, 40)
		dir := t.TempDir()
		r := mustApply(t, dir, res, data)
		if r.Counts.Files != int64(len(want)) {
			t.Errorf("Counts.Files = %d, want %d", r.Counts.Files, len(want))
		}
		for name, hdr := range want {
			p := filepath.Join(dir, name)
			got, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			if int64(len(got)) != hdr.Size || (len(got) > 0 && bytes.Count(got, got[:1]) != len(got)) {
				t.Errorf("%s: %d bytes, want %d of %q", name, len(got), hdr.Size, got[:1])
			}
			var st unix.Stat_t
			if err := unix.Lstat(p, &st); err != nil {
				t.Fatal(err)
			}
			if mode := st.Mode & 0o7777; mode != uint32(hdr.Mode) {
				t.Errorf("%s: mode %#o, want %#o", name, mode, hdr.Mode)
			}
			if mt := time.Unix(st.Mtim.Unix()); !mt.Equal(hdr.ModTime) {
				t.Errorf("%s: mtime %v, want %v", name, mt, hdr.ModTime)
			}
		}
	})
}

// TestFileWriterErrorNamesEarlierEntry: the writer fails on a file while
// the applier has gone on to later entries; the error still names that
// file and its offset, not whatever entry the applier was at.
func TestFileWriterErrorNamesEarlierEntry(t *testing.T) {
	testutil.PrivateMountNS(t)
	dir := t.TempDir()
	if err := unix.Mount("tmpfs", dir, "tmpfs", 0, "size=256k"); err != nil {
		t.Fatalf("mount tmpfs: %v", err)
	}
	t.Cleanup(func() { _ = unix.Unmount(dir, unix.MNT_DETACH) })
	b := newTar(t).File("small", 0o644, "ok").File("big", 0o644, strings.Repeat("x", 3*chunkSize+17))
	for i := range 50 {
		b.File(fmt.Sprintf("later%d", i), 0o644, "later")
	}
	root := openRoot(t, dir, pathrs.ResolverAuto)
	fds := countFds()
	_, err := Apply(context.Background(), root, bytes.NewReader(b.Bytes()), Options{})
	var ee *EntryError
	if !errors.As(err, &ee) || ee.Entry != "big" || ee.Offset != 2*blockSize {
		t.Fatalf("Apply = %v, want an *EntryError for entry big at offset %d", err, 2*blockSize)
	}
	if !errors.Is(err, unix.ENOSPC) || !strings.Contains(err.Error(), "write") {
		t.Fatalf("Apply = %v, want a write error matching ENOSPC", err)
	}
	if n := countFds(); n != fds {
		t.Errorf("descriptors: %d before, %d after", fds, n)
	}
}

// TestFileWriterTruncatedFile: the archive ends inside a file whose first
// jobs are already with the writer. Apply reports the truncation for that
// file, and the writer closes it: no descriptor is left open.
func TestFileWriterTruncatedFile(t *testing.T) {
	forEachBackend(t, func(t *testing.T, res pathrs.Resolver) {
		data := newTar(t).File("small", 0o644, "ok").File("big", 0o644, strings.Repeat("x", 3*maxJobBytes)).Bytes()
		data = data[:4*blockSize+2*maxJobBytes+100]
		root := openRoot(t, t.TempDir(), res)
		fds := countFds()
		_, err := Apply(context.Background(), root, bytes.NewReader(data), Options{})
		var ee *EntryError
		if !errors.As(err, &ee) || ee.Entry != "big" || !errors.Is(err, ErrInvalidArchive) {
			t.Fatalf("Apply = %v, want ErrInvalidArchive for entry big", err)
		}
		if n := countFds(); n != fds {
			t.Errorf("descriptors: %d before, %d after", fds, n)
		}
	})
}

// cancelAfter is a blob that cancels its context once n bytes are read.
type cancelAfter struct {
	r      io.Reader
	n      int
	cancel context.CancelFunc
}

func (c *cancelAfter) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if c.n -= n; c.n <= 0 {
		c.cancel()
	}
	return n, err
}

// TestFileWriterCancel: cancelling in the middle of a layer whose files are
// with the writer returns context.Canceled, after closing every file.
func TestFileWriterCancel(t *testing.T) {
	data, _ := writerLayer(t, 40)
	root := openRoot(t, t.TempDir(), pathrs.ResolverAuto)
	fds := countFds()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	_, err := Apply(ctx, root, &cancelAfter{r: bytes.NewReader(data), n: len(data) / 2, cancel: cancel}, Options{})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Apply = %v, want context.Canceled", err)
	}
	if n := countFds(); n != fds {
		t.Errorf("descriptors: %d before, %d after", fds, n)
	}
}

// TestJobSinkOwnership: data from a chunk is kept by reference (one more
// ref until written, given back after), and data from outside a chunk is
// copied, since its buffer is reused after take returns.
func TestJobSinkOwnership(t *testing.T) {
	dir := t.TempDir()
	fd, err := unix.Open(filepath.Join(dir, "f"), unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_CLOEXEC, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	w := startFileWriter()
	// Small pieces stay with the sink until finish: nothing is written yet.
	s := w.newSink(&newFile{fd: fd}, "f", 0)
	c := &chunk{buf: []byte("chunkdata"), n: 9}
	c.refs.Store(1)
	if err := s.take(c, c.buf[:5]); err != nil {
		t.Fatal(err)
	}
	if n := c.refs.Load(); n != 2 {
		t.Errorf("chunk refs after take = %d, want 2", n)
	}
	loose := []byte("-loose")
	if err := s.take(nil, loose); err != nil {
		t.Fatal(err)
	}
	copy(loose, "XXXXXX") // the stream reuses its buffer
	mtime := time.Unix(1e9, 0)
	s.finish(metadata{mode: 0o640, setMode: true, atime: mtime, mtime: mtime})
	if err := w.finish(); err != nil {
		t.Fatal(err)
	}
	if n := c.refs.Load(); n != 1 {
		t.Errorf("chunk refs after the write = %d, want 1", n)
	}
	got, err := os.ReadFile(filepath.Join(dir, "f"))
	if err != nil || string(got) != "chunk-loose" {
		t.Errorf("file = %q, %v; want %q", got, err, "chunk-loose")
	}
}

// TestFileWriterQueueBound: while the writer is stuck on a write, the
// applier can queue at most maxQueuedBytes of data; then send waits, and
// goes on once the writer does.
func TestFileWriterQueueBound(t *testing.T) {
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_CLOEXEC); err != nil {
		t.Fatal(err)
	}
	defer unix.Close(p[0])
	const mib = 1 << 20
	job := func(fd int) *writeJob {
		return &writeJob{f: &newFile{fd: fd}, pieces: []piece{{b: make([]byte, mib)}}, bytes: mib, last: true, abandoned: fd < 0}
	}
	w := startFileWriter()
	w.send(&writeJob{f: &newFile{fd: p[1]}, pieces: []piece{{b: make([]byte, mib)}}, bytes: mib}) // blocks in write: the pipe holds 64 KiB
	var sent atomic.Int32
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range 2 * maxQueuedBytes / mib {
			w.send(job(-1))
			sent.Add(1)
		}
		w.send(&writeJob{f: &newFile{fd: p[1]}, last: true, abandoned: true})
		sent.Add(1)
	}()
	time.Sleep(200 * time.Millisecond)
	if n := sent.Load(); n > maxQueuedBytes/mib-1 {
		t.Errorf("%d MiB queued behind a stuck write, bound %d MiB", n+1, maxQueuedBytes/mib)
	}
	buf := make([]byte, 64<<10)
	for {
		n, err := unix.Read(p[0], buf)
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break // the last job closed the write end
		}
	}
	<-done
	if err := w.finish(); err != nil {
		t.Fatal(err)
	}
	if n := sent.Load(); n != 2*maxQueuedBytes/mib+1 {
		t.Errorf("%d jobs sent, want %d", n, 2*maxQueuedBytes/mib+1)
	}
}
