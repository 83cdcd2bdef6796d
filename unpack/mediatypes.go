package unpack

import (
	"fmt"

	v1 "github.com/opencontainers/image-spec/specs-go/v1"
)

// Docker image manifest v2 schema 2 media types (distribution/distribution:
// docs/spec/manifest-v2-2.md), and BuildKit's non-standard zstd layer type
// (see stereoscope#486), which some registries serve.
const (
	MediaTypeDockerManifestList = "application/vnd.docker.distribution.manifest.list.v2+json"
	MediaTypeDockerManifest     = "application/vnd.docker.distribution.manifest.v2+json"
	MediaTypeDockerConfig       = "application/vnd.docker.container.image.v1+json"
	MediaTypeDockerLayer        = "application/vnd.docker.image.rootfs.diff.tar"
	MediaTypeDockerLayerGzip    = "application/vnd.docker.image.rootfs.diff.tar.gzip"
	MediaTypeDockerLayerZstd    = "application/vnd.docker.image.rootfs.diff.tar.zstd"
	MediaTypeDockerForeignGzip  = "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"
)

// OCI non-distributable layer types, deprecated by image-spec 1.1 (PR #965)
// but still found in older images; spelled out here rather than taken from
// the deprecated identifiers of specs-go.
const (
	mediaTypeNonDistributable     = "application/vnd.oci.image.layer.nondistributable.v1.tar"
	mediaTypeNonDistributableGzip = "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip"
	mediaTypeNonDistributableZstd = "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd"
)

// kind is what a descriptor points at.
type kind int

const (
	kindUnknown kind = iota
	kindIndex
	kindManifest
	kindConfig
)

func kindOf(mediaType string) kind {
	switch mediaType {
	case v1.MediaTypeImageIndex, MediaTypeDockerManifestList:
		return kindIndex
	case v1.MediaTypeImageManifest, MediaTypeDockerManifest:
		return kindManifest
	case v1.MediaTypeImageConfig, MediaTypeDockerConfig:
		return kindConfig
	}
	return kindUnknown
}

// layerType describes a layer media type.
type layerType struct {
	// canonical is the OCI media type with the same encoding, passed to the
	// layer package so that it needs to know only the OCI names.
	canonical string
	// nonDistributable layers (OCI's deprecated nondistributable types and
	// Docker's foreign layers) carry download URLs. safeunpack never fetches
	// them (CVE-2020-15157): the blob must be in the layout.
	nonDistributable bool
}

var layerTypes = map[string]layerType{
	v1.MediaTypeImageLayer:        {canonical: v1.MediaTypeImageLayer},
	v1.MediaTypeImageLayerGzip:    {canonical: v1.MediaTypeImageLayerGzip},
	v1.MediaTypeImageLayerZstd:    {canonical: v1.MediaTypeImageLayerZstd},
	mediaTypeNonDistributable:     {canonical: v1.MediaTypeImageLayer, nonDistributable: true},
	mediaTypeNonDistributableGzip: {canonical: v1.MediaTypeImageLayerGzip, nonDistributable: true},
	mediaTypeNonDistributableZstd: {canonical: v1.MediaTypeImageLayerZstd, nonDistributable: true},
	MediaTypeDockerLayer:          {canonical: v1.MediaTypeImageLayer},
	MediaTypeDockerLayerGzip:      {canonical: v1.MediaTypeImageLayerGzip},
	MediaTypeDockerLayerZstd:      {canonical: v1.MediaTypeImageLayerZstd},
	MediaTypeDockerForeignGzip:    {canonical: v1.MediaTypeImageLayerGzip, nonDistributable: true},
}

// layerMediaType looks up a layer media type; an unknown one is an error
// wrapping [ErrUnsupportedMediaType].
func layerMediaType(mediaType string) (layerType, error) {
	t, ok := layerTypes[mediaType]
	if !ok {
		return layerType{}, fmt.Errorf("%w: layer media type %q", ErrUnsupportedMediaType, mediaType)
	}
	return t, nil
}
