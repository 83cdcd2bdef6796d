package layer

import (
	"errors"
	"fmt"
)

// Default bounds. Each must be far above what any real image needs (a
// limit that rejects a real image is a bug) and low enough to stop a bomb
// before it exhausts the host.
const (
	// DefaultMaxBytes is 1 TiB of uncompressed stream. The largest public
	// layers (CUDA and ML images) are tens of GiB; 1 TiB stops a gzip or
	// zstd bomb (a 3 GiB zero file compresses to 101 KB with zstd -3,
	// threats.md T36/T37) long before a disk of ordinary size fills.
	DefaultMaxBytes = 1 << 40

	// DefaultMaxEntries is ten million tar entries: about ten times the
	// largest layers seen in practice (ocaml/opam, 113k entries; a full
	// TeX Live tree, ~250k), while a 10-million-entry bomb (threats.md T38)
	// still stops before it exhausts the inodes of most filesystems.
	DefaultMaxEntries = 10_000_000

	// DefaultMaxHeaderSize bounds the bytes one entry's headers take
	// (ustar block, PAX extended header, GNU long name and long link, sparse
	// map). archive/tar caps each of those records at 1 MiB itself
	// (maxSpecialFileSize, since CVE-2022-2879); 4 MiB is their sum.
	DefaultMaxHeaderSize = 4 << 20

	// DefaultMaxSymlinkHops is the kernel's MAXSYMLINKS (40), which both
	// pathrs backends enforce for every resolution.
	DefaultMaxSymlinkHops = 40

	// DefaultZstdMaxWindow is 128 MiB: zstd's own default maximum for
	// decoders is 8 MiB, `zstd --long` uses 128 MiB, and OCI producers stay
	// at or below it. A frame asking for more is refused before the decoder
	// allocates its window (a 9-byte frame can otherwise demand 2 GiB,
	// threats.md T37).
	DefaultZstdMaxWindow = 128 << 20

	// DefaultMaxTrackedPaths bounds the same-layer bookkeeping that
	// whiteouts and directory times need (see doc.go): one 64-bit hash per
	// directory the layer touches and per entry added directly into a
	// pre-existing, non-empty directory, some 30-60 bytes each in a Go map.
	// Two million is 64-128 MiB at worst (a million files into one lower
	// directory measured 66 MiB of heap); real layers hold at most a few
	// hundred thousand entries in all, and entries inside new directories
	// are not tracked at all.
	DefaultMaxTrackedPaths = 1 << 21
)

// maxNameLength bounds entry names and link names after cleaning. PATH_MAX
// (4096, including the terminating NUL) is the longest path the kernel
// accepts in one call, so a longer name could never be created or resolved;
// rejecting it up front gives a clear error instead of ENAMETOOLONG from
// deep inside a resolution. archive/tar already caps the raw name at 1 MiB.
const maxNameLength = 4095

// Limits bound what one layer may consume. Zero fields take the defaults
// (see [DefaultLimits]), which never reject a real image; set a field to
// tighten it. Exceeding a limit fails the layer with an error that matches
// [ErrLimitExceeded] and names the limit and the entry.
type Limits struct {
	// MaxBytes caps the uncompressed tar stream, headers and trailing
	// bytes included, plus the logical size of sparse files (whose holes
	// cost no stream bytes but would cost disk if written densely).
	MaxBytes int64
	// MaxEntries caps the number of tar entries (every header counts,
	// including PAX global headers and whiteouts).
	MaxEntries int64
	// MaxHeaderSize caps the bytes of one entry's headers: the ustar block
	// plus its PAX extended header, GNU long name, long link and sparse map.
	MaxHeaderSize int64
	// MaxSymlinkHops caps symlink hops while resolving entry parents and
	// hardlink targets. pathrs enforces the kernel's 40 on every
	// resolution; only 0 (meaning 40) and 40 are accepted, since a smaller
	// value could not be enforced.
	MaxSymlinkHops int
	// ZstdMaxWindow caps the zstd window size (and with it the decoder's
	// memory).
	ZstdMaxWindow uint64
	// MaxTrackedPaths caps the same-layer bookkeeping used for whiteouts
	// and directory times (see doc.go for what is tracked).
	MaxTrackedPaths int64
}

// DefaultLimits returns the limits used for zero fields of [Limits].
func DefaultLimits() Limits {
	return Limits{
		MaxBytes:        DefaultMaxBytes,
		MaxEntries:      DefaultMaxEntries,
		MaxHeaderSize:   DefaultMaxHeaderSize,
		MaxSymlinkHops:  DefaultMaxSymlinkHops,
		ZstdMaxWindow:   DefaultZstdMaxWindow,
		MaxTrackedPaths: DefaultMaxTrackedPaths,
	}
}

// minZstdWindow is the smallest window klauspost/compress accepts
// (zstd.MinWindowSize, 1 KiB).
const minZstdWindow = 1 << 10

// withDefaults validates l and fills zero fields with the defaults.
func (l Limits) withDefaults() (Limits, error) {
	d := DefaultLimits()
	if l.MaxBytes < 0 || l.MaxEntries < 0 || l.MaxHeaderSize < 0 || l.MaxSymlinkHops < 0 || l.MaxTrackedPaths < 0 {
		return l, fmt.Errorf("%w: negative limit in %+v", ErrInvalidOptions, l)
	}
	if l.MaxBytes == 0 {
		l.MaxBytes = d.MaxBytes
	}
	if l.MaxEntries == 0 {
		l.MaxEntries = d.MaxEntries
	}
	if l.MaxHeaderSize == 0 {
		l.MaxHeaderSize = d.MaxHeaderSize
	}
	if l.MaxSymlinkHops == 0 {
		l.MaxSymlinkHops = d.MaxSymlinkHops
	}
	if l.MaxSymlinkHops != DefaultMaxSymlinkHops {
		return l, fmt.Errorf("%w: MaxSymlinkHops %d: pathrs enforces the kernel's %d on every resolution: %w",
			ErrInvalidOptions, l.MaxSymlinkHops, DefaultMaxSymlinkHops, errors.ErrUnsupported)
	}
	if l.ZstdMaxWindow == 0 {
		l.ZstdMaxWindow = d.ZstdMaxWindow
	}
	if l.ZstdMaxWindow < minZstdWindow {
		return l, fmt.Errorf("%w: ZstdMaxWindow %d is below zstd's minimum of %d", ErrInvalidOptions, l.ZstdMaxWindow, minZstdWindow)
	}
	if l.MaxTrackedPaths == 0 {
		l.MaxTrackedPaths = d.MaxTrackedPaths
	}
	return l, nil
}
