package layer

// TEMPORARY: the layer API contract with stub bodies so that unpack and the
// CLI compile while layer is implemented. The implementer of layer may add
// fields and functions but must keep these names and meanings (or update the
// callers in unpack and cmd/safeunpack in the same commit).

import (
	"context"
	"errors"
	"io"
	"log/slog"

	"github.com/opencontainers/go-digest"

	"github.com/safeunpack/safeunpack/pathrs"
)

var errTODO = errors.ErrUnsupported

// Compression of a layer blob.
type Compression int

const (
	// CompressionAuto detects gzip, zstd or plain tar from magic bytes.
	CompressionAuto Compression = iota
	// CompressionNone is a plain tar stream.
	CompressionNone
	// CompressionGzip is gzip.
	CompressionGzip
	// CompressionZstd is zstd.
	CompressionZstd
)

// CompressionFromMediaType maps an OCI or Docker layer media type to a
// Compression; an unknown media type is an error naming it.
func CompressionFromMediaType(mediaType string) (Compression, error) { return 0, errTODO }

// Limits bound what one layer may consume. Zero fields take the defaults
// (DefaultLimits), which never reject a real image.
type Limits struct {
	// MaxBytes caps the uncompressed tar stream, headers included.
	MaxBytes int64
	// MaxEntries caps the number of tar entries.
	MaxEntries int64
	// MaxHeaderSize caps a single header's PAX/GNU extension size.
	MaxHeaderSize int64
	// MaxSymlinkHops caps symlink hops while resolving entry parents.
	MaxSymlinkHops int
	// ZstdMaxWindow caps the zstd window size.
	ZstdMaxWindow uint64
}

// IDMap maps a contiguous range of container ids to host ids (the
// --uid-map C:H:S syntax).
type IDMap struct {
	ContainerID uint32
	HostID      uint32
	Size        uint32
}

// Progress is reported to Options.Progress while a layer is applied.
type Progress struct {
	// CompressedBytes is how much of the blob has been read.
	CompressedBytes int64
	// Entries is how many tar entries have been applied.
	Entries int64
}

// Options configures Apply. The zero value is valid: auto-detected
// compression, default limits, ownership preserved as in the tar headers.
type Options struct {
	// MediaType, when set, selects the decompressor; else magic bytes do.
	MediaType string
	// Limits; zero fields mean defaults.
	Limits Limits
	// UIDMap and GIDMap map tar ids to host ids; empty means identity.
	UIDMap, GIDMap []IDMap
	// Rootless: ownership that cannot be applied is recorded instead (issue 6).
	Rootless bool
	// Progress, when set, is called from the applying goroutine now and then.
	Progress func(Progress)
	// Logger receives warnings; nil means slog.Default().
	Logger *slog.Logger
}

// Counts of applied entries by kind.
type Counts struct {
	Files, Dirs, Symlinks, Hardlinks, Devices, Fifos, Whiteouts, Opaques int64
}

// Result describes an applied layer.
type Result struct {
	// DiffID is the sha256 of the whole uncompressed stream, trailing bytes
	// after the end-of-archive blocks included.
	DiffID digest.Digest
	// CompressedBytes read from the blob (the whole blob: Apply drains it).
	CompressedBytes int64
	// UncompressedBytes of the tar stream.
	UncompressedBytes int64
	// Entries is the number of tar entries.
	Entries int64
	Counts  Counts
	// Warnings, each also logged once.
	Warnings []string
}

// Apply applies one layer blob, read from blob to its end, onto root.
func Apply(ctx context.Context, root *pathrs.Root, blob io.Reader, opts Options) (*Result, error) {
	return nil, errTODO
}

// Finding is one hazardous entry reported by Audit.
type Finding struct {
	Entry  string
	Offset int64
	Kind   string
	Detail string
}

// AuditReport is what Audit found.
type AuditReport struct {
	DiffID   digest.Digest
	Entries  int64
	Findings []Finding
}

// Audit reads a layer blob without extracting it and reports every hazardous
// entry.
func Audit(ctx context.Context, blob io.Reader, opts Options) (*AuditReport, error) {
	return nil, errTODO
}
