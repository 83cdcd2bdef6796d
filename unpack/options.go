package unpack

import (
	"fmt"
	"io"
	"log/slog"

	"github.com/safeunpack/safeunpack/layer"
)

// DefaultHostname is the hostname written to config.json when
// [Options.Hostname] is empty.
const DefaultHostname = "safeunpack"

// maxHostnameLen is HOST_NAME_MAX on Linux (64), the limit sethostname(2)
// enforces; a longer name would only fail later inside the runtime.
const maxHostnameLen = 64

// Options configures [Unpack], [ApplyLayerFile] and [AuditLayerFile]. The
// zero value is valid and means: the host's platform, the layer package's
// default limits, ownership applied as recorded in the image, no user
// namespace, hostname [DefaultHostname], no progress reports and
// slog.Default() for logging. Fields that an operation does not use are
// ignored by it (documented per field). Every field is validated before any
// I/O; a bad one gives an error wrapping [ErrInvalidOptions].
type Options struct {
	// Platform selects a manifest from an image index, written
	// "os/arch" or "os/arch/variant" (for example "linux/arm/v7"), as in
	// containerd and crane. Empty means the platform this program runs on.
	// Used by Unpack only.
	Platform string

	// Limits bound what each layer may consume; zero fields take the
	// defaults of the layer package ([layer.Limits]).
	Limits layer.Limits

	// Rootless forces a rootless unpack: owners that cannot be applied
	// with chown are recorded in the layer package's [layer.RootlessXattr]
	// (umoci's user.rootlesscontainers), device nodes become empty
	// placeholder files, and config.json gets a user namespace mapping the
	// caller to root, shaped like `runc spec --rootless`. Without it, the
	// mode follows the process's privilege, read from its uid_map and
	// gid_map through the verified procfs: an unprivileged user or root of
	// a user namespace gets a rootless unpack automatically (logged at info
	// level with the reason), root of the initial user namespace a
	// privileged one. See docs/rootless.md.
	Rootless bool

	// UIDMap and GIDMap map container ids to host ids (umoci's
	// --uid-map C:H:S, see [ParseIDMap]). Empty means identity. For a
	// privileged unpack every owner is mapped (an id outside every range
	// is an error matching [layer.ErrUnmappedID] naming the entry) and
	// config.json gets a user namespace with the same mappings. For a
	// rootless unpack they only shape config.json's user namespace (and in
	// a user namespace, which ids are chowned to); an unprivileged caller's
	// maps must map container id 0 to the caller. Ranges must be
	// non-empty, must not overflow 32 bits and must not overlap on either
	// side; at most 340 of each (the kernel's limit for a user namespace).
	UIDMap, GIDMap []layer.IDMap

	// Hostname is written to config.json; empty means [DefaultHostname].
	// Used by Unpack only.
	Hostname string

	// Progress, when set, is called now and then from the goroutine doing
	// the work, with cumulative counts. It must return quickly.
	Progress func(Progress)

	// Logger receives info and warning lines; nil means slog.Default().
	Logger *slog.Logger

	// Gunzip, when set, replaces the built-in gzip decoder (see
	// [layer.Options.Gunzip]); the CLI sets it from --gunzip with an
	// external igzip or pigz (internal/extgzip). Digests are computed by
	// this package either way.
	Gunzip func(compressed io.Reader) (io.ReadCloser, error)
	// GunzipPath is the absolute path of the program behind Gunzip, if
	// any: recorded in safeunpack.json, and refused when it lies inside
	// the bundle or rootfs being written (a program from the image must
	// never run).
	GunzipPath string

	// own is the ownership decision of the running operation (set by
	// Unpack and ApplyLayerFile after detection; nil before).
	own *ownership
}

// Progress is a snapshot of an operation's progress, passed to
// [Options.Progress]. Counts are cumulative over the whole operation.
type Progress struct {
	// Layer is the 1-based index of the layer being applied; 0 before the
	// first layer starts.
	Layer int
	// Layers is the number of layers to apply.
	Layers int
	// Bytes is how many compressed layer bytes have been read so far.
	Bytes int64
	// TotalBytes is the compressed size of all layers (0 when unknown).
	TotalBytes int64
	// Entries is how many tar entries have been applied so far.
	Entries int64
}

func (o *Options) logger() *slog.Logger {
	if o.Logger != nil {
		return o.Logger
	}
	return slog.Default()
}

func (o *Options) hostname() string {
	if o.Hostname == "" {
		return DefaultHostname
	}
	return o.Hostname
}

// validate checks every field; it does no I/O.
func (o *Options) validate() error {
	if o.Platform != "" {
		if _, err := ParsePlatform(o.Platform); err != nil {
			return err
		}
	}
	if err := validateIDMaps("uid", o.UIDMap); err != nil {
		return err
	}
	if err := validateIDMaps("gid", o.GIDMap); err != nil {
		return err
	}
	if err := validateHostname(o.Hostname); err != nil {
		return err
	}
	if o.Limits.MaxBytes < 0 || o.Limits.MaxEntries < 0 || o.Limits.MaxHeaderSize < 0 || o.Limits.MaxSymlinkHops < 0 {
		return fmt.Errorf("%w: negative limit %+v", ErrInvalidOptions, o.Limits)
	}
	return nil
}

// maxIDMapRanges is UID_GID_MAP_MAX_EXTENTS: a user namespace takes at
// most 340 ranges per map (Linux 4.15 and later), so a config.json with
// more could never start.
const maxIDMapRanges = 340

func validateIDMaps(kind string, maps []layer.IDMap) error {
	if len(maps) > maxIDMapRanges {
		return fmt.Errorf("%w: %d %s map ranges, more than the kernel's %d", ErrInvalidOptions, len(maps), kind, maxIDMapRanges)
	}
	for i, m := range maps {
		if m.Size == 0 {
			return fmt.Errorf("%w: %s map %d:%d:%d has size 0", ErrInvalidOptions, kind, m.ContainerID, m.HostID, m.Size)
		}
		if uint64(m.ContainerID)+uint64(m.Size) > 1<<32 || uint64(m.HostID)+uint64(m.Size) > 1<<32 {
			return fmt.Errorf("%w: %s map %d:%d:%d overflows 32-bit ids", ErrInvalidOptions, kind, m.ContainerID, m.HostID, m.Size)
		}
		for _, n := range maps[:i] {
			if overlaps(m.ContainerID, m.Size, n.ContainerID, n.Size) || overlaps(m.HostID, m.Size, n.HostID, n.Size) {
				return fmt.Errorf("%w: %s maps %d:%d:%d and %d:%d:%d overlap", ErrInvalidOptions, kind,
					n.ContainerID, n.HostID, n.Size, m.ContainerID, m.HostID, m.Size)
			}
		}
	}
	return nil
}

func overlaps(a, alen, b, blen uint32) bool {
	return uint64(a) < uint64(b)+uint64(blen) && uint64(b) < uint64(a)+uint64(alen)
}

// validateHostname accepts RFC 1123 labels separated by dots.
func validateHostname(h string) error {
	if h == "" {
		return nil
	}
	if len(h) > maxHostnameLen {
		return fmt.Errorf("%w: hostname longer than %d bytes", ErrInvalidOptions, maxHostnameLen)
	}
	for _, c := range []byte(h) {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.'
		if !ok {
			return fmt.Errorf("%w: hostname %q has a character outside [A-Za-z0-9.-]", ErrInvalidOptions, h)
		}
	}
	return nil
}

// layerOptions is the layer.Options for one layer of media type mediaType
// (empty: detected from magic bytes), with the ownership decision of the
// operation (before one is made, the options as given).
func (o *Options) layerOptions(mediaType string, progress func(layer.Progress)) layer.Options {
	lo := layer.Options{
		MediaType: mediaType,
		Limits:    o.Limits,
		UIDMap:    o.UIDMap,
		GIDMap:    o.GIDMap,
		Rootless:  o.Rootless,
		Progress:  progress,
		Logger:    o.logger(),
		Gunzip:    o.Gunzip,
	}
	if o.own != nil {
		lo.UIDMap, lo.GIDMap, lo.Rootless = o.own.layerUIDs, o.own.layerGIDs, o.own.rootless
	}
	return lo
}
