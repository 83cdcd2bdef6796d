package layer

import (
	"golang.org/x/sys/unix"

	"github.com/safeunpack/safeunpack/internal/linux"
	"github.com/safeunpack/safeunpack/pathrs"
)

// newFile is a regular file this Apply has just created, held by its bare
// descriptor (pathrs.Dir.CreateFd): an *os.File per entry would cost an
// fcntl(2) and a finalizer each, for nothing an extractor needs. Writes
// loop until everything is written and retry EINTR.
type newFile struct {
	fd int
}

// createFile creates name in d for writing, mode 0600 until the
// metadata step sets the entry's own.
func createFile(d *pathrs.Dir, name string) (*newFile, error) {
	fd, err := d.CreateFd(name, unix.O_WRONLY, 0o600)
	if err != nil {
		return nil, err
	}
	return &newFile{fd: fd}, nil
}

// Write writes all of p.
func (f *newFile) Write(p []byte) (int, error) {
	done := 0
	for done < len(p) {
		n, err := linux.RetryEINTR2(func() (int, error) { return unix.Write(f.fd, p[done:]) })
		if err != nil {
			return done, err
		}
		if n == 0 {
			return done, unix.EIO
		}
		done += n
	}
	return done, nil
}

// WriteAt writes all of p at off.
func (f *newFile) WriteAt(p []byte, off int64) (int, error) {
	done := 0
	for done < len(p) {
		n, err := linux.RetryEINTR2(func() (int, error) { return unix.Pwrite(f.fd, p[done:], off+int64(done)) })
		if err != nil {
			return done, err
		}
		if n == 0 {
			return done, unix.EIO
		}
		done += n
	}
	return done, nil
}

// Truncate sets the file's size.
func (f *newFile) Truncate(size int64) error {
	return linux.RetryEINTR(func() error { return unix.Ftruncate(f.fd, size) })
}

// Close closes the descriptor once.
func (f *newFile) Close() error {
	if f.fd < 0 {
		return nil
	}
	fd := f.fd
	f.fd = -1
	return unix.Close(fd)
}

// take writes b: a newFile is the streamReader's sink for files the
// applier writes itself.
func (f *newFile) take(_ *chunk, b []byte) error {
	_, err := f.Write(b)
	return err
}
