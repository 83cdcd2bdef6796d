package layer

import (
	"fmt"
	"io"
	"log/slog"
	"os"
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
	// [ErrUnmappedID], unless Rootless is set.
	UIDMap, GIDMap []IDMap
	// Rootless asks for extraction by a process that cannot chown to
	// arbitrary ids (an unprivileged user, or root of a user namespace).
	// UIDMap and GIDMap then list the ids the process can use: an owner
	// inside them is applied with chown, and one outside them is recorded
	// in the [RootlessXattr] attribute instead of being an error. Empty
	// maps mean umoci's rule: container id 0 is the process itself
	// (0 maps to the effective uid and gid), every other id is recorded.
	// Device nodes become empty regular files (placeholders), and
	// directories whose image mode denies their owner access are opened up
	// while the layer needs them and given their image mode back. See the
	// package documentation, section Rootless.
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
	// euid is the effective uid: in rootless mode only directories it owns
	// are opened up temporarily.
	euid int
	// egid is the effective gid, the group of the files we create
	// (except in setgid directories).
	egid     int
	progress func(Progress)
	logger   *slog.Logger
	gunzip   func(io.Reader) (io.ReadCloser, error)
}

// validate checks every field and fills defaults; it does no I/O.
func (o *Options) validate() (*config, error) {
	c := &config{rootless: o.Rootless, euid: os.Geteuid(), egid: os.Getegid(), progress: o.Progress, logger: o.Logger, gunzip: o.Gunzip}
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
	uidMap, gidMap := o.UIDMap, o.GIDMap
	if o.Rootless && len(uidMap) == 0 {
		uidMap = []IDMap{{ContainerID: 0, HostID: uint32(c.euid), Size: 1}}
	}
	if o.Rootless && len(gidMap) == 0 {
		gidMap = []IDMap{{ContainerID: 0, HostID: uint32(os.Getegid()), Size: 1}}
	}
	if c.uids, err = newIDMapper("uid", uidMap); err != nil {
		return nil, err
	}
	if c.gids, err = newIDMapper("gid", gidMap); err != nil {
		return nil, err
	}
	return c, nil
}
