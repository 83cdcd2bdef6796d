package pathrs

import (
	"errors"

	"golang.org/x/sys/unix"

	"github.com/safeunpack/safeunpack/internal/linux"
)

var (
	// ErrPossibleBreakout means a resolution saw the root or the current
	// directory move while it walked "..", or a handle turned out not to be
	// where the walk expected: somebody is racing us. It matches
	// errors.Is(err, unix.EXDEV), the errno openat2(2) uses for the same
	// condition.
	ErrPossibleBreakout error = linux.NewSentinel("pathrs: possible breakout detected", unix.EXDEV)

	// ErrInvalidMode means a mode had bits the operation refuses: file type
	// bits where none are allowed, setuid or setgid for MkdirAll (mkdirat(2)
	// silently drops them), or bits outside 07777. It matches EINVAL.
	ErrInvalidMode error = linux.NewSentinel("pathrs: invalid mode", unix.EINVAL)

	// ErrInvalidName means a single-component name given to a [Dir]
	// operation was empty where not allowed, ".", "..", or held a '/'. It
	// matches EINVAL.
	ErrInvalidName error = linux.NewSentinel("pathrs: invalid name", unix.EINVAL)

	// ErrRootIsNotAllowed means an operation that needs a parent directory and
	// a final name was given a path that names the root itself ("/", ".",
	// "a/.."): libpathrs refuses these the same way. It matches EINVAL.
	ErrRootIsNotAllowed error = linux.NewSentinel("pathrs: operation not allowed on the root itself", unix.EINVAL)

	// ErrTooManyEntries means a directory listing passed the caller's limit,
	// or RemoveAll gave up because the tree kept growing underneath it (see
	// [Dir.RemoveAll]). It matches EAGAIN.
	ErrTooManyEntries error = linux.NewSentinel("pathrs: too many directory entries", unix.EAGAIN)
)

// Compile-time check that the sentinels are comparable with errors.Is.
var _ = errors.Is(ErrPossibleBreakout, unix.EXDEV)
