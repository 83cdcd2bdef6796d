package unpack

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/opencontainers/go-digest"
	v1 "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/safeunpack/safeunpack/layer"
	"github.com/safeunpack/safeunpack/pathrs"
)

// Unpack unpacks the image ref names into a runtime bundle at bundle:
// bundle/rootfs, bundle/config.json and bundle/safeunpack.json (see
// [Record]). Everything is verified while it streams: every blob's size and
// digest, and every layer's DiffID against the config.
//
// The bundle appears atomically: the work happens in a staging directory
// beside it (mode 0700), renamed into place only when everything verified.
// On any error, or when ctx is cancelled, the staging directory is removed
// and nothing is left. An existing non-empty bundle is [ErrBundleExists]
// and is not touched; an existing empty directory is replaced.
//
// Options are validated and the whole image (layout, index, manifest,
// config, presence and size of every layer blob) is checked before the
// staging directory is created, so most bad images fail without touching
// the filesystem at all.
func Unpack(ctx context.Context, ref Reference, bundle string, opts Options) (_ *Record, Err error) {
	if err := opts.validate(); err != nil {
		return nil, err
	}
	if err := ref.validate(); err != nil {
		return nil, err
	}
	if bundle == "" {
		return nil, fmt.Errorf("%w: empty bundle path", ErrInvalidOptions)
	}
	if err := opts.checkGunzipOutside(bundle); err != nil {
		return nil, err
	}
	want, explicit := HostPlatform(), false
	if opts.Platform != "" {
		want, _ = ParsePlatform(opts.Platform) // validated above
		explicit = true
	}
	log := opts.logger()
	own, err := chooseOwnership(&opts, log)
	if err != nil {
		return nil, err
	}
	opts.own = own

	l, err := openLayout(ref.Layout)
	if err != nil {
		return nil, err
	}
	defer l.Close()
	sel, err := l.selectImage(ctx, ref, want, explicit)
	if err != nil {
		return nil, err
	}
	for _, w := range sel.warnings {
		log.Warn(w)
	}
	types, total, err := l.checkLayers(sel.manifest)
	if err != nil {
		return nil, err
	}
	layoutAbs, err := filepath.Abs(ref.Layout)
	if err != nil {
		return nil, err
	}
	rec := &Record{
		Tool:              "safeunpack",
		Version:           Version(),
		Layout:            layoutAbs,
		Reference:         ref.String(),
		Tag:               tagOf(sel.top),
		ImageDigest:       sel.top.Digest,
		ManifestDigest:    sel.desc.Digest,
		ManifestMediaType: sel.desc.MediaType,
		ConfigDigest:      sel.manifest.Config.Digest,
		Platform:          sel.platform.String(),
		Options:           recordOptions(&opts),
		Warnings:          sel.warnings,
	}
	log.Info("unpacking", "image", ref.String(), "manifest", sel.desc.Digest.String(),
		"platform", rec.Platform, "layers", len(sel.manifest.Layers))

	stage, err := prepareBundle(bundle)
	if err != nil {
		return nil, err
	}
	defer func() {
		if Err == nil {
			return
		}
		if err := stage.abort(); err != nil {
			Err = fmt.Errorf("%w (and removing staging directory %s failed: %w)", Err, stage.dir, err)
		}
	}()
	rootfs := stage.path("rootfs")
	if err := os.Mkdir(rootfs, 0o755); err != nil {
		return nil, fmt.Errorf("creating rootfs: %w", err)
	}
	root, err := pathrs.OpenRoot(rootfs)
	if err != nil {
		return nil, fmt.Errorf("opening rootfs: %w", err)
	}
	defer root.Close()
	if err := own.chownRootfs(root); err != nil {
		return nil, err
	}

	tracker := newProgressTracker(opts.Progress, len(sel.manifest.Layers), total)
	for i, desc := range sel.manifest.Layers {
		lr, err := applyLayer(ctx, l, root, desc, types[i], sel.config.RootFS.DiffIDs[i], i, len(sel.manifest.Layers), &opts, tracker)
		if err != nil {
			return nil, err
		}
		rec.Layers = append(rec.Layers, *lr)
	}
	if err := ctx.Err(); err != nil {
		return nil, context.Cause(ctx)
	}

	user, uwarn, err := resolveUser(sel.config.Config.User, rootfsReader(root))
	if err != nil {
		return nil, err
	}
	spec, swarn := runtimeSpec(sel.config, user, &opts, opts.own)
	for _, w := range append(uwarn, swarn...) {
		log.Warn(w)
		rec.Warnings = append(rec.Warnings, w)
	}
	if err := writeJSON(stage, "config.json", spec); err != nil {
		return nil, err
	}
	if err := writeJSON(stage, RecordFile, rec); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, context.Cause(ctx)
	}
	if err := stage.commit(); err != nil {
		return nil, err
	}
	log.Info("unpacked", "bundle", bundle)
	return rec, nil
}

func writeJSON(stage *staging, name string, v any) error {
	b, err := marshalIndent(v)
	if err != nil {
		return fmt.Errorf("encoding %s: %w", name, err)
	}
	if err := stage.writeFile(name, b); err != nil {
		return fmt.Errorf("writing %s: %w", name, err)
	}
	return nil
}

// checkLayers checks, before anything is written, that every layer has a
// media type we handle and a blob of the right size in the layout. A
// non-distributable layer whose blob is absent is an error: its URLs are
// never fetched (CVE-2020-15157).
func (l *layout) checkLayers(m *v1.Manifest) ([]layerType, int64, error) {
	types := make([]layerType, len(m.Layers))
	var total int64
	for i, d := range m.Layers {
		what := fmt.Sprintf("layer %d/%d", i+1, len(m.Layers))
		t, err := layerMediaType(d.MediaType)
		if err != nil {
			return nil, 0, fmt.Errorf("%s %s: %w", what, d.Digest, err)
		}
		types[i] = t
		if err := l.statBlob(d, what); err != nil {
			if t.nonDistributable && errors.Is(err, ErrNotFound) {
				return nil, 0, fmt.Errorf("%w (a non-distributable layer: copy its blob into the layout; URLs are never fetched)", err)
			}
			return nil, 0, err
		}
		total += d.Size
	}
	return types, total, nil
}

// applyLayer streams layer i (0-based) of n through digest verification
// into root and checks its DiffID.
func applyLayer(ctx context.Context, l *layout, root *pathrs.Root, desc v1.Descriptor, t layerType,
	wantDiffID digest.Digest, i, n int, opts *Options, tracker *progressTracker,
) (*LayerRecord, error) {
	if err := ctx.Err(); err != nil {
		return nil, context.Cause(ctx)
	}
	what := fmt.Sprintf("layer %d/%d", i+1, n)
	br, err := l.openBlob(ctx, desc, what)
	if err != nil {
		return nil, err
	}
	defer br.Close()
	// For a plain tar layer the DiffID the layer package computes is the
	// blob's sha256: hash once.
	deferred := t.canonical == v1.MediaTypeImageLayer && br.deferDigestTo()
	var r io.Reader = br
	if tracker != nil {
		r = &countingReader{r: br, t: tracker}
	}
	tracker.startLayer(i + 1)
	opts.logger().Debug("applying layer", slog.String("layer", what), slog.String("digest", desc.Digest.String()),
		slog.String("mediaType", desc.MediaType), slog.Int64("size", desc.Size))
	res, err := layer.Apply(ctx, root, r, opts.layerOptions(t.canonical, tracker.layerFunc()))
	if err != nil && ctx.Err() != nil {
		return nil, fmt.Errorf("%s %s: %w", what, shortDigest(desc.Digest), context.Cause(ctx))
	}
	// A verification failure of the blob explains any error the layer
	// package saw while reading it (a tampered gzip stream usually fails to
	// inflate before its end is reached): check the rest of the blob and
	// report a mismatch first, with its sentinel.
	if err != nil && br.err == nil {
		_ = br.Drain()
	}
	if br.err != nil && !errors.Is(br.err, io.EOF) {
		return nil, br.err
	}
	if err != nil && deferred {
		if verr := br.verifyFromStart(); verr != nil {
			return nil, verr
		}
	}
	if err != nil {
		return nil, fmt.Errorf("applying %s %s: %w", what, desc.Digest, err)
	}
	// The layer package reads to EOF; drain anyway so the digest is
	// always checked.
	if err := br.Drain(); err != nil {
		return nil, err
	}
	if deferred {
		if err := br.checkDeferred(res.DiffID); err != nil {
			return nil, err
		}
	}
	if res.DiffID != wantDiffID {
		return nil, fmt.Errorf("%w: %s %s: uncompressed content hashes to %s, config says %s",
			ErrDiffIDMismatch, what, desc.Digest, res.DiffID, wantDiffID)
	}
	tracker.endLayer(desc.Size, res.Entries)
	// The layer package has logged its warnings already; they are kept in
	// the record.
	return &LayerRecord{
		Digest:            desc.Digest,
		MediaType:         desc.MediaType,
		Size:              desc.Size,
		DiffID:            res.DiffID,
		UncompressedBytes: res.UncompressedBytes,
		Entries:           res.Entries,
		Warnings:          res.Warnings,
	}, nil
}
