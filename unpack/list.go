package unpack

import (
	"context"
	"fmt"

	"github.com/opencontainers/go-digest"
	v1 "github.com/opencontainers/image-spec/specs-go/v1"
)

// Listing is what [List] found in a layout.
type Listing struct {
	// Layout is the path that was listed.
	Layout string `json:"layout"`
	// Images are index.json's entries, in order.
	Images []ImageInfo `json:"images"`
}

// ImageInfo describes an index.json entry, or a manifest inside an index.
type ImageInfo struct {
	// Tag is the entry's org.opencontainers.image.ref.name (empty for
	// entries inside an index).
	Tag       string        `json:"tag,omitempty"`
	Digest    digest.Digest `json:"digest"`
	MediaType string        `json:"mediaType"`
	// Size of the manifest or index document itself.
	Size int64 `json:"size"`
	// Platform of a manifest, from its descriptor or else its config.
	Platform string `json:"platform,omitempty"`
	// Layers and LayersSize (compressed bytes) of a manifest.
	Layers     int   `json:"layers,omitempty"`
	LayersSize int64 `json:"layersSize,omitempty"`
	// Manifests of an index.
	Manifests []ImageInfo `json:"manifests,omitempty"`
	// Error says why this entry could not be read (a missing or corrupt
	// blob, an unsupported media type); the listing goes on.
	Error string `json:"error,omitempty"`
}

// List describes the images of the layout at layoutPath: tags, digests,
// media types, platforms and sizes, following nested indexes. It reads
// only JSON documents (verified and capped like [Unpack] does), never
// layers. A broken oci-layout or index.json is an error; a broken manifest
// or index below is reported in its entry's Error and the listing goes on.
func List(ctx context.Context, layoutPath string) (*Listing, error) {
	if layoutPath == "" {
		return nil, fmt.Errorf("%w: empty layout path", ErrInvalidOptions)
	}
	l, err := openLayout(layoutPath)
	if err != nil {
		return nil, err
	}
	defer l.Close()
	out := &Listing{Layout: layoutPath}
	for _, d := range l.index.Manifests {
		if err := ctx.Err(); err != nil {
			return nil, context.Cause(ctx)
		}
		info := l.info(ctx, d, 0)
		info.Tag = tagOf(d)
		out.Images = append(out.Images, info)
	}
	return out, nil
}

func (l *layout) info(ctx context.Context, d v1.Descriptor, depth int) ImageInfo {
	info := ImageInfo{Digest: d.Digest, MediaType: d.MediaType, Size: d.Size}
	if p, ok := platformOf(d.Platform); ok {
		info.Platform = p.String()
	}
	switch kindOf(d.MediaType) {
	case kindIndex:
		if depth >= maxIndexDepth {
			info.Error = fmt.Sprintf("indexes nest deeper than %d", maxIndexDepth)
			return info
		}
		idx, err := l.readIndex(ctx, d)
		if err != nil {
			info.Error = err.Error()
			return info
		}
		for _, c := range idx.Manifests {
			info.Manifests = append(info.Manifests, l.info(ctx, c, depth+1))
		}
	case kindManifest:
		m, err := l.readManifest(ctx, d)
		if err != nil {
			info.Error = err.Error()
			return info
		}
		info.Layers = len(m.Layers)
		for _, ld := range m.Layers {
			info.LayersSize += ld.Size
		}
		if info.Platform == "" && !isAttestation(d) {
			cfg, err := l.readConfig(ctx, m)
			if err != nil {
				info.Error = err.Error()
				return info
			}
			info.Platform = normalizePlatform(Platform{OS: cfg.OS, Architecture: cfg.Architecture, Variant: cfg.Variant}).String()
		}
	default:
		info.Error = "not an image manifest or index"
	}
	return info
}
