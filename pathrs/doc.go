// Package pathrs resolves paths inside a root directory and performs every
// filesystem operation an image extractor needs there, safely against a
// concurrent attacker. It is a pure-Go design in the spirit of libpathrs
// (cyphar/libpathrs) and filepath-securejoin's pathrs-lite, plus the
// metadata operations (owners, modes, times, xattrs, device nodes, renames
// with flags) an unpacker needs and those libraries lack.
//
// # Threat model
//
// The attacker controls everything under the root: a hostile earlier image
// layer planted symlinks, hardlinks, FIFOs and devices there, and a
// concurrent process with write access inside the root may rename, swap
// (renameat2 RENAME_EXCHANGE), create and delete any entry at any moment,
// including while an operation is in progress. Under that attacker no
// operation of this package reads, creates, changes or deletes anything
// outside the root.
//
// Out of scope: an attacker who can also write outside the root, for
// example move a directory from inside the root to outside it while we hold
// a descriptor to it (no descriptor-based design can stop operations on a
// directory that has been moved away; the emulated resolver detects it
// during ".." walks and fails with [ErrPossibleBreakout]); an attacker who
// can mount filesystems (mount points inside the root are crossed like any
// directory: RESOLVE_NO_XDEV is not applied to roots); and whoever chose
// the root path itself (it is opened once with O_NOFOLLOW and never
// resolved again).
//
// # Semantics
//
// Resolution has the semantics of openat2(2) with RESOLVE_IN_ROOT and
// RESOLVE_NO_MAGICLINKS: the root acts as "/" for the path and for every
// symlink met on the way, so absolute symlinks and ".." are clamped to the
// root (Debian's var/run -> /run resolves to the rootfs's run) rather than
// reported; magic links (/proc/self/fd/N, /proc/self/exe) are refused with
// ELOOP; at most 40 symlinks are followed (the kernel's MAXSYMLINKS), on
// both backends; a trailing slash follows a final symlink and requires a
// directory; a NUL byte is EINVAL, never a truncation. The empty path is
// the root.
//
// Effectively, root.Open(unsafePath) is
//
//	os.Open(filepath.Join(rootPath, unsafePath))
//
// but much safer: the joined string is resolved by the host, so a symlink
// anywhere in it (planted by an earlier layer, or swapped in between a
// check and the use) leads outside the root (CVE-2018-15664,
// CVE-2021-29136, CVE-2025-47290); filepath.Join's lexical cleaning does not
// know what ".." means after a symlink.
//
// # Backends
//
// The default backend is openat2(2) (Linux 5.6): one system call per
// lookup, scoped by the kernel. When the kernel answers EAGAIN (a rename
// raced a ".." walk) the call is retried at least 128 times and for at
// least 5 ms, then unix.EAGAIN is returned. When openat2 is unusable
// (ENOSYS on an old kernel, or a seccomp filter denying it) a userspace
// walker emulates RESOLVE_IN_ROOT with openat(O_PATH|O_NOFOLLOW) one
// component at a time; after every ".." it checks, through the verified
// procfs handle of package procfs, that neither the root nor the current
// directory moved, and fails with [ErrPossibleBreakout] (which matches
// unix.EXDEV) otherwise. Only a failed probe switches backends, and only
// that failure is remembered: an ordinary lookup error never downgrades to
// the emulated walker, and a seccomp filter installed later is noticed.
//
// # Operations
//
// Creating and removing operations resolve the parent once and do one
// *at(2) call on the final name, which is never followed: files are created
// with O_CREAT|O_EXCL|O_NOFOLLOW, so an existing entry (a symlink, FIFO or
// device included) is never opened, truncated or written through. Metadata
// never follows a final symlink and never goes by path: fchownat with
// AT_EMPTY_PATH or AT_SYMLINK_NOFOLLOW, fchmodat2 (Linux 6.6; before it, a
// procfs magic-link through the verified handle, never fchmodat on a name,
// CVE-2021-41089), utimensat with AT_SYMLINK_NOFOLLOW (symlinks get times
// too), and the *xattrat calls (Linux 6.13; before them, directories are
// opened through "." and regular files re-opened through procfs). [Dir] is
// a resolved directory on which all these act by single name, for
// extractors that apply many entries in one directory.
//
// Errors are *os.PathError carrying the operation and the untrusted path;
// the sentinels [ErrPossibleBreakout], [ErrInvalidMode], [ErrInvalidName],
// [ErrRootIsNotAllowed] and [ErrTooManyEntries] work with errors.Is and also
// match the errno the kernel uses for the same condition.
//
// # Kernel features
//
// openat2 5.6 (else emulated); fchmodat2 6.6 (else procfs); setxattrat 6.13
// (else reopen); STATX_MNT_ID 5.8 (procfs checks). The package is
// Linux-only.
package pathrs
