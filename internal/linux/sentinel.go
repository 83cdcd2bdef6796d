package linux

import "golang.org/x/sys/unix"

// Sentinel is an error value that also matches one errno through
// errors.Is, so that a caller checking for the kernel's own answer (openat2
// returns EXDEV for an escape or a mount crossing) and a caller checking
// for the package's sentinel both succeed. Packages export values made
// with NewSentinel.
type Sentinel struct {
	msg   string
	errno unix.Errno
}

// NewSentinel returns a sentinel error with message msg matching errno.
func NewSentinel(msg string, errno unix.Errno) *Sentinel {
	return &Sentinel{msg: msg, errno: errno}
}

func (e *Sentinel) Error() string { return e.msg }

// Is reports whether target is the errno this sentinel stands for.
func (e *Sentinel) Is(target error) bool {
	errno, ok := target.(unix.Errno)
	return ok && errno == e.errno
}
