package linux

import (
	"errors"

	"golang.org/x/sys/unix"
)

// maxEINTRRetries bounds how often a wrapper retries a call interrupted by a
// signal. Go's runtime preempts with SIGURG, so EINTR is routine; a bound
// still keeps a pathological signal storm from looping forever.
const maxEINTRRetries = 1024

// RetryEINTR runs fn until it returns something other than EINTR.
func RetryEINTR(fn func() error) error {
	var err error
	for range maxEINTRRetries {
		err = fn()
		if !errors.Is(err, unix.EINTR) {
			return err
		}
	}
	return err
}

// RetryEINTR2 is RetryEINTR for calls that also return a value.
func RetryEINTR2[T any](fn func() (T, error)) (T, error) {
	var (
		v   T
		err error
	)
	for range maxEINTRRetries {
		v, err = fn()
		if !errors.Is(err, unix.EINTR) {
			return v, err
		}
	}
	return v, err
}
