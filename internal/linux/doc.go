// Package linux holds thin wrappers for Linux system calls that
// golang.org/x/sys/unix does not provide (fchmodat2, the *xattrat family),
// EINTR-retrying variants of the ones it does, and feature probes.
//
// Wrappers return bare [unix.Errno] values; callers add context once. Probes
// are computed once (sync.OnceValue) and never change afterwards, except the
// openat2 probe, which only ever latches failure (a process may install a
// seccomp filter after the first successful call, libpathrs 0.2.2).
package linux
