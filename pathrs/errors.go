package pathrs

import (
	"errors"

	"golang.org/x/sys/unix"
)

// errnoError is a sentinel that also matches an errno through errors.Is, so
// that callers checking for the kernel's own answer (openat2 returns EXDEV on
// an escape attempt) and callers checking for our sentinel both succeed.
type errnoError struct {
	msg   string
	errno unix.Errno
}

func (e *errnoError) Error() string { return e.msg }

// Is reports whether target is the errno this sentinel stands for.
func (e *errnoError) Is(target error) bool {
	errno, ok := target.(unix.Errno)
	return ok && errno == e.errno
}

var (
	// ErrPossibleBreakout means a resolution saw the root or the current
	// directory move while it walked "..", or a handle turned out not to be
	// where the walk expected: somebody is racing us. It matches
	// errors.Is(err, unix.EXDEV), the errno openat2(2) uses for the same
	// condition.
	ErrPossibleBreakout error = &errnoError{"pathrs: possible breakout detected", unix.EXDEV}

	// ErrInvalidMode means a mode had bits the operation refuses: file type
	// bits where none are allowed, setuid or setgid for MkdirAll (mkdirat(2)
	// silently drops them), or bits outside 07777. It matches EINVAL.
	ErrInvalidMode error = &errnoError{"pathrs: invalid mode", unix.EINVAL}

	// ErrInvalidName means a single-component name given to a [Dir]
	// operation was empty where not allowed, ".", "..", or held a '/'. It
	// matches EINVAL.
	ErrInvalidName error = &errnoError{"pathrs: invalid name", unix.EINVAL}

	// ErrRootIsNotAllowed means an operation that needs a parent directory and
	// a final name was given a path that names the root itself ("/", ".",
	// "a/.."): libpathrs refuses these the same way. It matches EINVAL.
	ErrRootIsNotAllowed error = &errnoError{"pathrs: operation not allowed on the root itself", unix.EINVAL}

	// ErrTooManyEntries means a directory listing passed the caller's limit,
	// or RemoveAll gave up because the tree kept growing underneath it (see
	// [Dir.RemoveAll]). It matches EAGAIN.
	ErrTooManyEntries error = &errnoError{"pathrs: too many directory entries", unix.EAGAIN}
)

// Compile-time check that the sentinels are comparable with errors.Is.
var _ = errors.Is(ErrPossibleBreakout, unix.EXDEV)
