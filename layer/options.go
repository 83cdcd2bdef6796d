package layer

import (
	"fmt"
	"io"
	"log/slog"
)

// Progress is reported to [Options.Progress] while a layer is applied or
// audited.
type Progress struct {
	// CompressedBytes is how much of the blob has been read.
	CompressedBytes int64
	// Entries is how many tar entries have been applied (or audited).
	Entries int64
}

// Options configures [Apply] and [Audit]. The zero value is valid:
// compression detected from magic bytes, default limits, ownership applied
// as recorded in the tar headers, slog.Default() for warnings. Every field
// is validated before any I/O; a bad one gives an error matching
// [ErrInvalidOptions].
type Options struct {
	// MediaType, when set, selects the decompressor (see
	// [CompressionFromMediaType]); else magic bytes do.
	MediaType string
	// Limits; zero fields mean defaults.
	Limits Limits
	// UIDMap and GIDMap map tar ids (container ids) to host ids; empty
	// means identity. Ranges must be non-empty, must not overflow 32 bits
	// and must not overlap. An id outside every range fails the entry with
	// [ErrUnmappedID].
	UIDMap, GIDMap []IDMap
	// Rootless asks for extraction by an unprivileged user: ownership is
	// not applied with chown. Recording it in an xattr, device
	// placeholders and temporary access to restrictive directories are
	// issue 6; today the ownership step is skipped and nothing else
	// changes.
	Rootless bool
	// Progress, when set, is called from the applying goroutine now and
	// then (at most every progressInterval, and once at the end). It must
	// return quickly.
	Progress func(Progress)
	// Logger receives warnings (each kind once per layer); nil means
	// slog.Default().
	Logger *slog.Logger
	// Gunzip, when set, decompresses gzip blobs instead of the built-in
	// decoder (klauspost/compress). It is given the compressed stream and
	// returns the uncompressed one, whose Read must report a corrupt or
	// truncated input as an error, not io.EOF; Close releases it and
	// stops it early when the layer fails. Single-core inflate is the
	// ceiling of a gzip layer (performance.md), so a faster external
	// decoder such as igzip pays; see internal/extgzip. The compressed
	// stream is still read by this package, so digests are still ours.
	Gunzip func(compressed io.Reader) (io.ReadCloser, error)
}

// config is Options after validation, with defaults filled in.
type config struct {
	compression Compression
	limits      Limits
	uids, gids  idMapper
	rootless    bool
	progress    func(Progress)
	logger      *slog.Logger
	gunzip      func(io.Reader) (io.ReadCloser, error)
}

// validate checks every field and fills defaults; it does no I/O.
func (o *Options) validate() (*config, error) {
	c := &config{rootless: o.Rootless, progress: o.Progress, logger: o.Logger, gunzip: o.Gunzip}
	if c.logger == nil {
		c.logger = slog.Default()
	}
	comp, err := CompressionFromMediaType(o.MediaType)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidOptions, err)
	}
	c.compression = comp
	if c.limits, err = o.Limits.withDefaults(); err != nil {
		return nil, err
	}
	if c.uids, err = newIDMapper("uid", o.UIDMap); err != nil {
		return nil, err
	}
	if c.gids, err = newIDMapper("gid", o.GIDMap); err != nil {
		return nil, err
	}
	return c, nil
}
