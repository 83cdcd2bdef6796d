package pathrs

import (
	"sync"

	"golang.org/x/sys/unix"
)

// fdRef owns one file descriptor and lets many goroutines use it while
// another may close it: users hold the read lock for the duration of one
// system call, Close takes the write lock. This is what makes Root, Dir and
// Handle safe for concurrent use with a Close that may be called many times.
type fdRef struct {
	mu     sync.RWMutex
	fd     int
	closed bool
}

func newFdRef(fd int) *fdRef { return &fdRef{fd: fd} }

// use runs fn with the descriptor, or returns EBADF once closed.
func (r *fdRef) use(fn func(fd int) error) error {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if r.closed {
		return unix.EBADF
	}
	return fn(r.fd)
}

// close closes the descriptor once; later calls return nil.
func (r *fdRef) close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil
	}
	r.closed = true
	return unix.Close(r.fd)
}

// useFd is fdRef.use for functions that return a value.
func useFd[T any](r *fdRef, fn func(fd int) (T, error)) (T, error) {
	var v T
	err := r.use(func(fd int) error {
		var err error
		v, err = fn(fd)
		return err
	})
	return v, err
}
