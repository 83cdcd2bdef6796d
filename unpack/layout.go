package unpack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	v1 "github.com/opencontainers/image-spec/specs-go/v1"
)

// maxLayoutFileSize caps the oci-layout file, which holds one short JSON
// object ({"imageLayoutVersion": "1.0.0"}).
const maxLayoutFileSize = 64 << 10

// layout is an open OCI image layout (image-spec image-layout.md). Every
// file is opened through an [os.Root], so a symlink in the layout cannot
// make it read a file outside the layout directory, and only regular files
// are read (a FIFO or device planted as a blob is refused without blocking).
type layout struct {
	path  string
	root  *os.Root
	index v1.Index
}

// openLayout opens the layout at path, checks its oci-layout file and reads
// index.json. Both are capped: index.json at [MaxJSONSize], checked with
// fstat before reading.
func openLayout(path string) (_ *layout, Err error) {
	root, err := os.OpenRoot(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%w: no OCI image layout at %s", ErrNotFound, path)
	}
	if err != nil {
		return nil, fmt.Errorf("opening image layout: %w", err)
	}
	l := &layout{path: path, root: root}
	defer func() {
		if Err != nil {
			_ = root.Close()
		}
	}()
	var hdr v1.ImageLayout
	if err := l.readFileJSON(v1.ImageLayoutFile, maxLayoutFileSize, &hdr); err != nil {
		return nil, err
	}
	if !strings.HasPrefix(hdr.Version, "1.") {
		return nil, fmt.Errorf("%w: %s/%s: unsupported imageLayoutVersion %q (want %s)", ErrInvalidLayout, path, v1.ImageLayoutFile, hdr.Version, v1.ImageLayoutVersion)
	}
	buf, err := l.readFile(v1.ImageIndexFile, MaxJSONSize)
	if err != nil {
		return nil, err
	}
	if err := l.setIndex(buf); err != nil {
		return nil, err
	}
	return l, nil
}

// setIndex parses and validates the content of index.json.
func (l *layout) setIndex(buf []byte) error {
	l.index = v1.Index{}
	if err := json.Unmarshal(buf, &l.index); err != nil {
		return fmt.Errorf("%w: %s/%s: %w", ErrInvalidLayout, l.path, v1.ImageIndexFile, err)
	}
	return checkIndex(&l.index, l.path+"/"+v1.ImageIndexFile)
}

// Close releases the layout.
func (l *layout) Close() error { return l.root.Close() }

// readFileJSON reads and decodes a file of the layout with readFile.
func (l *layout) readFileJSON(name string, limit int64, v any) error {
	buf, err := l.readFile(name, limit)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(buf, v); err != nil {
		return fmt.Errorf("%w: %s/%s: %w", ErrInvalidLayout, l.path, name, err)
	}
	return nil
}

// readFile reads a non-content-addressed file of the layout, refusing it
// before reading when fstat says it is over limit.
func (l *layout) readFile(name string, limit int64) ([]byte, error) {
	f, size, err := l.openRegular(name)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s has no %s: not an OCI image layout", ErrInvalidLayout, l.path, name)
	}
	if err != nil {
		return nil, fmt.Errorf("%s/%s: %w", l.path, name, err)
	}
	defer f.Close()
	if size > limit {
		return nil, fmt.Errorf("%w: %s/%s is %d bytes, over the %d-byte cap", ErrBlobTooLarge, l.path, name, size, limit)
	}
	buf, err := readAllInto(make([]byte, 0, size), io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fmt.Errorf("reading %s/%s: %w", l.path, name, err)
	}
	if int64(len(buf)) > limit {
		return nil, fmt.Errorf("%w: %s/%s grew over the %d-byte cap while being read", ErrBlobTooLarge, l.path, name, limit)
	}
	return buf, nil
}

// checkIndex validates an image index's own fields and its descriptors.
func checkIndex(idx *v1.Index, what string) error {
	if idx.SchemaVersion != 2 {
		return fmt.Errorf("%w: %s: schemaVersion %d, want 2", ErrInvalidLayout, what, idx.SchemaVersion)
	}
	if idx.MediaType != "" && kindOf(idx.MediaType) != kindIndex {
		return fmt.Errorf("%w: %s: mediaType %q is not an image index", ErrInvalidLayout, what, idx.MediaType)
	}
	for i, d := range idx.Manifests {
		if err := checkDescriptor(d, fmt.Sprintf("%s manifests[%d]", what, i)); err != nil {
			return err
		}
	}
	return nil
}

// readIndex reads a nested image index blob.
func (l *layout) readIndex(ctx context.Context, desc v1.Descriptor) (*v1.Index, error) {
	var idx v1.Index
	what := "index " + shortDigest(desc.Digest)
	if err := l.readJSON(ctx, desc, "index", &idx); err != nil {
		return nil, err
	}
	if idx.MediaType != "" && idx.MediaType != desc.MediaType {
		// CVE-2021-41190: a document must not be readable as two types.
		return nil, fmt.Errorf("%w: %s: embedded mediaType %q differs from descriptor's %q", ErrInvalidLayout, what, idx.MediaType, desc.MediaType)
	}
	if err := checkIndex(&idx, what); err != nil {
		return nil, err
	}
	return &idx, nil
}

// readManifest reads an image manifest blob and validates it.
func (l *layout) readManifest(ctx context.Context, desc v1.Descriptor) (*v1.Manifest, error) {
	var m v1.Manifest
	what := "manifest " + shortDigest(desc.Digest)
	if err := l.readJSON(ctx, desc, "manifest", &m); err != nil {
		return nil, err
	}
	if m.SchemaVersion != 2 {
		return nil, fmt.Errorf("%w: %s: schemaVersion %d, want 2", ErrInvalidLayout, what, m.SchemaVersion)
	}
	if m.MediaType != "" && m.MediaType != desc.MediaType {
		return nil, fmt.Errorf("%w: %s: embedded mediaType %q differs from descriptor's %q", ErrInvalidLayout, what, m.MediaType, desc.MediaType)
	}
	if err := checkDescriptor(m.Config, what+" config"); err != nil {
		return nil, err
	}
	if kindOf(m.Config.MediaType) != kindConfig {
		return nil, fmt.Errorf("%w: %s: config media type %q (not an image config; an artifact?)", ErrUnsupportedMediaType, what, m.Config.MediaType)
	}
	for i, d := range m.Layers {
		lw := fmt.Sprintf("%s layer %d", what, i+1)
		if err := checkDescriptor(d, lw); err != nil {
			return nil, err
		}
		if _, err := layerMediaType(d.MediaType); err != nil {
			return nil, fmt.Errorf("%s %s: %w", lw, d.Digest, err)
		}
	}
	return &m, nil
}

// readConfig reads an image config blob and validates its rootfs section
// against the manifest's layer count.
func (l *layout) readConfig(ctx context.Context, m *v1.Manifest) (*v1.Image, error) {
	var img v1.Image
	if err := l.readJSON(ctx, m.Config, "config", &img); err != nil {
		return nil, err
	}
	what := "config " + shortDigest(m.Config.Digest)
	if img.RootFS.Type != "layers" {
		return nil, fmt.Errorf("%w: %s: rootfs.type %q, want \"layers\"", ErrInvalidLayout, what, img.RootFS.Type)
	}
	if len(img.RootFS.DiffIDs) != len(m.Layers) {
		return nil, fmt.Errorf("%w: %s lists %d rootfs.diff_ids but the manifest has %d layers", ErrInvalidLayout, what, len(img.RootFS.DiffIDs), len(m.Layers))
	}
	for i, d := range img.RootFS.DiffIDs {
		if err := d.Validate(); err != nil {
			return nil, fmt.Errorf("%w: %s: rootfs.diff_ids[%d] %q: %w", ErrInvalidLayout, what, i, d, err)
		}
	}
	return &img, nil
}
