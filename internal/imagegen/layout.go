package imagegen

import (
	_ "crypto/sha256" // registers sha256 for go-digest
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/opencontainers/go-digest"
	"github.com/opencontainers/image-spec/specs-go"
	v1 "github.com/opencontainers/image-spec/specs-go/v1"
)

// Layout is an OCI image layout being written.
type Layout struct {
	// Dir is the layout directory.
	Dir string
}

// Create makes dir (which must not exist or be empty) an image layout with
// an oci-layout file and an empty blobs/sha256 directory.
func Create(dir string) (*Layout, error) {
	if err := os.MkdirAll(filepath.Join(dir, v1.ImageBlobsDir, "sha256"), 0o755); err != nil {
		return nil, err
	}
	hdr, err := json.Marshal(v1.ImageLayout{Version: v1.ImageLayoutVersion})
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, v1.ImageLayoutFile), hdr, 0o644); err != nil {
		return nil, err
	}
	return &Layout{Dir: dir}, nil
}

// BlobPath is the path of the blob with digest d.
func (l *Layout) BlobPath(d digest.Digest) string {
	return filepath.Join(l.Dir, v1.ImageBlobsDir, d.Algorithm().String(), d.Encoded())
}

// Blob stores data and returns its descriptor.
func (l *Layout) Blob(mediaType string, data []byte) (v1.Descriptor, error) {
	d := digest.FromBytes(data)
	if err := os.WriteFile(l.BlobPath(d), data, 0o644); err != nil {
		return v1.Descriptor{}, err
	}
	return v1.Descriptor{MediaType: mediaType, Digest: d, Size: int64(len(data))}, nil
}

// JSON stores v as a JSON blob.
func (l *Layout) JSON(mediaType string, v any) (v1.Descriptor, error) {
	data, err := json.Marshal(v)
	if err != nil {
		return v1.Descriptor{}, err
	}
	return l.Blob(mediaType, data)
}

// WriteIndex writes index.json listing descs.
func (l *Layout) WriteIndex(descs ...v1.Descriptor) error {
	idx := v1.Index{Versioned: specs.Versioned{SchemaVersion: 2}, MediaType: v1.MediaTypeImageIndex, Manifests: descs}
	if idx.Manifests == nil {
		idx.Manifests = []v1.Descriptor{}
	}
	data, err := json.MarshalIndent(idx, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(l.Dir, v1.ImageIndexFile), append(data, '\n'), 0o644)
}

// Layer is one layer of an [Image].
type Layer struct {
	Entries     []Entry
	Compression Compression
	// MediaType overrides Compression.MediaType() (for Docker types).
	MediaType string
	// Tar, when set, is used instead of Entries.
	Tar []byte
}

// Image describes an image to write.
type Image struct {
	Layers   []Layer
	Config   v1.ImageConfig
	Platform v1.Platform
	// Created defaults to Epoch.
	Created time.Time
	// DiffIDs, when non-nil, replace the computed rootfs.diff_ids.
	DiffIDs []digest.Digest
	// ManifestMediaType and ConfigMediaType default to the OCI types.
	ManifestMediaType, ConfigMediaType string
	// Annotations of the manifest.
	Annotations map[string]string
}

// Image writes img's layers, config and manifest and returns the
// manifest's descriptor, with its platform set.
func (l *Layout) Image(img Image) (v1.Descriptor, error) {
	var layers []v1.Descriptor
	var diffIDs []digest.Digest
	for i, ly := range img.Layers {
		raw := ly.Tar
		if raw == nil {
			var err error
			if raw, err = Tar(ly.Entries); err != nil {
				return v1.Descriptor{}, fmt.Errorf("layer %d: %w", i, err)
			}
		}
		diffIDs = append(diffIDs, digest.FromBytes(raw))
		blob, err := Compress(raw, ly.Compression)
		if err != nil {
			return v1.Descriptor{}, err
		}
		mt := ly.MediaType
		if mt == "" {
			mt = ly.Compression.MediaType()
		}
		d, err := l.Blob(mt, blob)
		if err != nil {
			return v1.Descriptor{}, err
		}
		layers = append(layers, d)
	}
	if img.DiffIDs != nil {
		diffIDs = img.DiffIDs
	}
	created := img.Created
	if created.IsZero() {
		created = Epoch
	}
	platform := img.Platform
	if platform.OS == "" {
		platform = v1.Platform{OS: "linux", Architecture: "amd64"}
	}
	cfg := v1.Image{
		Created:  &created,
		Platform: platform,
		Config:   img.Config,
		RootFS:   v1.RootFS{Type: "layers", DiffIDs: diffIDs},
	}
	for range layers {
		cfg.History = append(cfg.History, v1.History{Created: &created, CreatedBy: "safeunpack imagegen"})
	}
	cmt := img.ConfigMediaType
	if cmt == "" {
		cmt = v1.MediaTypeImageConfig
	}
	cd, err := l.JSON(cmt, cfg)
	if err != nil {
		return v1.Descriptor{}, err
	}
	mmt := img.ManifestMediaType
	if mmt == "" {
		mmt = v1.MediaTypeImageManifest
	}
	m := v1.Manifest{
		Versioned:   specs.Versioned{SchemaVersion: 2},
		MediaType:   mmt,
		Config:      cd,
		Layers:      layers,
		Annotations: img.Annotations,
	}
	if m.Layers == nil {
		m.Layers = []v1.Descriptor{}
	}
	md, err := l.JSON(mmt, m)
	if err != nil {
		return v1.Descriptor{}, err
	}
	md.Platform = &platform
	return md, nil
}

// Index writes an image index of manifests and returns its descriptor.
func (l *Layout) Index(mediaType string, manifests ...v1.Descriptor) (v1.Descriptor, error) {
	if mediaType == "" {
		mediaType = v1.MediaTypeImageIndex
	}
	idx := v1.Index{Versioned: specs.Versioned{SchemaVersion: 2}, MediaType: mediaType, Manifests: manifests}
	return l.JSON(mediaType, idx)
}

// Tagged returns d annotated with the tag (org.opencontainers.image.ref.name).
func Tagged(d v1.Descriptor, tag string) v1.Descriptor {
	a := map[string]string{}
	for k, v := range d.Annotations {
		a[k] = v
	}
	a[v1.AnnotationRefName] = tag
	d.Annotations = a
	return d
}
