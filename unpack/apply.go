package unpack

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"

	"golang.org/x/sys/unix"

	"github.com/safeunpack/safeunpack/layer"
	"github.com/safeunpack/safeunpack/pathrs"
)

// ApplyLayerFile applies one layer file (a tar, gzip or zstd stream,
// detected from its first bytes) to the directory rootfs, creating rootfs
// (mode 0755) and its parents when missing. Whiteouts are applied to what
// rootfs already holds, so layers can be applied one after another. This
// is for building root filesystems in CI and for trying hostile tarballs:
// every entry goes through the layer package's in-root resolution.
//
// Unlike [Unpack] it is not atomic (rootfs may be an existing tree that is
// being modified): on error, entries applied before it stay. It uses
// Options' Limits, Rootless, UIDMap, GIDMap, Progress and Logger; Platform
// and Hostname are ignored. Like Unpack, it detects whether the process is
// privileged and unpacks rootless when it is not (or when Rootless is set).
func ApplyLayerFile(ctx context.Context, layerPath, rootfs string, opts Options) (*layer.Result, error) {
	if err := opts.validate(); err != nil {
		return nil, err
	}
	if layerPath == "" || rootfs == "" {
		return nil, fmt.Errorf("%w: empty layer or rootfs path", ErrInvalidOptions)
	}
	if err := opts.checkGunzipOutside(rootfs); err != nil {
		return nil, err
	}
	own, err := chooseOwnership(&opts, opts.logger())
	if err != nil {
		return nil, err
	}
	opts.own = own
	f, size, err := openLayerFile(layerPath)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	_, statErr := os.Lstat(rootfs)
	created := errors.Is(statErr, fs.ErrNotExist)
	if err := os.MkdirAll(rootfs, 0o755); err != nil {
		return nil, fmt.Errorf("creating rootfs: %w", err)
	}
	root, err := pathrs.OpenRoot(rootfs)
	if err != nil {
		return nil, fmt.Errorf("opening rootfs %s: %w", rootfs, err)
	}
	defer root.Close()
	if created {
		if err := own.chownRootfs(root); err != nil {
			return nil, err
		}
	}
	tracker := newProgressTracker(opts.Progress, 1, size)
	var r io.Reader = &ctxReader{ctx: ctx, r: f}
	if tracker != nil {
		r = &countingReader{r: r, t: tracker}
	}
	tracker.startLayer(1)
	res, err := layer.Apply(ctx, root, r, opts.layerOptions("", tracker.layerFunc()))
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("applying %s: %w", layerPath, context.Cause(ctx))
		}
		return nil, fmt.Errorf("applying %s: %w", layerPath, err)
	}
	tracker.endLayer(size, res.Entries)
	return res, nil
}

// AuditLayerFile reads the layer file at layerPath without extracting it
// and reports every hazardous entry ([layer.Audit]). It uses Options'
// Limits and Logger.
func AuditLayerFile(ctx context.Context, layerPath string, opts Options) (*layer.AuditReport, error) {
	if err := opts.validate(); err != nil {
		return nil, err
	}
	f, _, err := openLayerFile(layerPath)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	rep, err := layer.Audit(ctx, &ctxReader{ctx: ctx, r: f}, opts.layerOptions("", nil))
	if err != nil {
		return nil, fmt.Errorf("auditing %s: %w", layerPath, err)
	}
	return rep, nil
}

// openLayerFile opens a layer file given on the command line: a regular
// file (a FIFO is refused without blocking, so is a device), or "-" is not
// special. It returns the file and its size.
func openLayerFile(p string) (*os.File, int64, error) {
	f, err := os.OpenFile(p, os.O_RDONLY|unix.O_NONBLOCK|unix.O_NOCTTY, 0)
	if errors.Is(err, os.ErrNotExist) {
		return nil, 0, fmt.Errorf("%w: layer file %s", ErrNotFound, p)
	}
	if err != nil {
		return nil, 0, fmt.Errorf("opening layer file: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		_ = f.Close()
		return nil, 0, fmt.Errorf("layer file %s: %w", p, err)
	}
	if !st.Mode().IsRegular() {
		_ = f.Close()
		return nil, 0, fmt.Errorf("%w: layer file %s is not a regular file (%s)", ErrInvalidOptions, p, st.Mode().Type())
	}
	return f, st.Size(), nil
}

// ctxReader stops reading once ctx is done.
type ctxReader struct {
	ctx context.Context //nolint:containedctx // checked on each Read so cancellation reaches a long copy
	r   io.Reader
}

func (c *ctxReader) Read(p []byte) (int, error) {
	if c.ctx.Err() != nil {
		return 0, context.Cause(c.ctx)
	}
	return c.r.Read(p)
}
