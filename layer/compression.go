package layer

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"strings"
)

// Compression of a layer blob.
type Compression int

const (
	// CompressionAuto detects gzip, zstd or plain tar from magic bytes.
	CompressionAuto Compression = iota
	// CompressionNone is a plain tar stream.
	CompressionNone
	// CompressionGzip is gzip (RFC 1952), possibly several members.
	CompressionGzip
	// CompressionZstd is zstd (RFC 8878), possibly several frames.
	CompressionZstd
)

// String names the compression for messages.
func (c Compression) String() string {
	switch c {
	case CompressionAuto:
		return "auto"
	case CompressionNone:
		return "none"
	case CompressionGzip:
		return "gzip"
	case CompressionZstd:
		return "zstd"
	}
	return fmt.Sprintf("Compression(%d)", int(c))
}

// layerMediaTypes maps every layer media type we apply to its compression:
// the OCI image-spec's (media-types.md, including the deprecated
// non-distributable variants), Docker's schema2 ones, and BuildKit's
// non-standard "tar.zstd" (stereoscope#486).
var layerMediaTypes = map[string]Compression{
	"application/vnd.oci.image.layer.v1.tar":                       CompressionNone,
	"application/vnd.oci.image.layer.v1.tar+gzip":                  CompressionGzip,
	"application/vnd.oci.image.layer.v1.tar+zstd":                  CompressionZstd,
	"application/vnd.oci.image.layer.nondistributable.v1.tar":      CompressionNone,
	"application/vnd.oci.image.layer.nondistributable.v1.tar+gzip": CompressionGzip,
	"application/vnd.oci.image.layer.nondistributable.v1.tar+zstd": CompressionZstd,
	"application/vnd.docker.image.rootfs.diff.tar":                 CompressionNone,
	"application/vnd.docker.image.rootfs.diff.tar.gzip":            CompressionGzip,
	"application/vnd.docker.image.rootfs.diff.tar.zstd":            CompressionZstd,
	"application/vnd.docker.image.rootfs.foreign.diff.tar":         CompressionNone,
	"application/vnd.docker.image.rootfs.foreign.diff.tar.gzip":    CompressionGzip,
	"application/vnd.docker.image.rootfs.foreign.diff.tar.zstd":    CompressionZstd,
}

// CompressionFromMediaType maps an OCI or Docker layer media type to a
// Compression. Media-type parameters (after ';') are ignored. The empty
// string is [CompressionAuto]. An unknown media type is an error matching
// [ErrUnsupportedCompression] that names it.
func CompressionFromMediaType(mediaType string) (Compression, error) {
	if mediaType == "" {
		return CompressionAuto, nil
	}
	base, _, _ := strings.Cut(mediaType, ";")
	base = strings.ToLower(strings.TrimSpace(base))
	if c, ok := layerMediaTypes[base]; ok {
		return c, nil
	}
	return 0, fmt.Errorf("%w: media type %q is not a layer media type this unpacker knows", ErrUnsupportedCompression, mediaType)
}

// Magic numbers (RFC 1952, RFC 8878, bzip2 and xz file formats).
var (
	gzipMagic  = []byte{0x1f, 0x8b}
	zstdMagic  = []byte{0x28, 0xb5, 0x2f, 0xfd}
	bzip2Magic = []byte("BZh")
	xzMagic    = []byte{0xfd, '7', 'z', 'X', 'Z', 0x00}
)

// magicLen is how many leading bytes detectCompression looks at.
const magicLen = 6

// detectCompression decides the compression from the first bytes of a blob
// (fewer than magicLen at a short blob's end). Anything that is not a known
// compressed format is taken as plain tar; tar itself has no magic at
// offset 0, and a non-tar stream then fails as an invalid archive.
func detectCompression(head []byte) (Compression, error) {
	switch {
	case bytes.HasPrefix(head, gzipMagic):
		return CompressionGzip, nil
	case bytes.HasPrefix(head, zstdMagic):
		return CompressionZstd, nil
	case len(head) >= 4 && binary.LittleEndian.Uint32(head)&0xfffffff0 == 0x184d2a50:
		// A zstd skippable frame (RFC 8878 section 3.1.2) may come first.
		return CompressionZstd, nil
	case bytes.HasPrefix(head, xzMagic):
		return 0, fmt.Errorf("%w: xz", ErrUnsupportedCompression)
	case bytes.HasPrefix(head, bzip2Magic) && len(head) >= 4 && head[3] >= '1' && head[3] <= '9':
		return 0, fmt.Errorf("%w: bzip2", ErrUnsupportedCompression)
	}
	return CompressionNone, nil
}
