package unpack

import "errors"

// Sentinel errors. Every error returned by this package that is caused by the
// image (rather than by the host, such as a full disk) wraps one of
// [ErrInvalidLayout], [ErrNotFound], [ErrDigestMismatch], [ErrSizeMismatch],
// [ErrDiffIDMismatch], [ErrBlobTooLarge] or [ErrUnsupportedMediaType]; test
// with errors.Is. The message always names the blob, tag or file at fault.
var (
	// ErrInvalidLayout means the OCI image layout or one of its JSON
	// documents is malformed: a missing or wrong oci-layout file, an
	// index.json, manifest or config that is not valid JSON or violates the
	// image-spec, a descriptor with a negative size or a malformed digest,
	// an embedded mediaType that contradicts its descriptor, or a layer
	// count different from the config's rootfs.diff_ids.
	ErrInvalidLayout = errors.New("unpack: invalid image layout")

	// ErrNotFound means a tag, digest, platform or blob the operation needs
	// is not in the layout. The message lists what is there.
	ErrNotFound = errors.New("unpack: not found")

	// ErrAmbiguous means the reference matches several manifests and the
	// platform does not tell them apart. The message lists the candidates.
	ErrAmbiguous = errors.New("unpack: ambiguous image reference")

	// ErrDigestMismatch means a blob's content does not hash to the digest
	// of its descriptor.
	ErrDigestMismatch = errors.New("unpack: digest mismatch")

	// ErrSizeMismatch means a blob's length differs from the size of its
	// descriptor (a truncated or padded blob, or a wrong descriptor).
	ErrSizeMismatch = errors.New("unpack: size mismatch")

	// ErrDiffIDMismatch means an applied layer's uncompressed digest differs
	// from the config's rootfs.diff_ids entry for it.
	ErrDiffIDMismatch = errors.New("unpack: diff_id mismatch")

	// ErrBlobTooLarge means a JSON document (index.json, a manifest, an
	// index or a config) is larger than [MaxJSONSize]; it is rejected
	// before it is read (CVE-2023-25153).
	ErrBlobTooLarge = errors.New("unpack: blob too large")

	// ErrUnsupportedMediaType means a manifest, index or layer has a media
	// type this package does not handle (see mediatypes.go).
	ErrUnsupportedMediaType = errors.New("unpack: unsupported media type")

	// ErrBundleExists means the bundle directory already exists and is not
	// empty; it was left untouched.
	ErrBundleExists = errors.New("unpack: bundle exists and is not empty")

	// ErrInvalidOptions means an [Options] field or a [Reference] is
	// malformed. Options are validated before any I/O.
	ErrInvalidOptions = errors.New("unpack: invalid options")

	// ErrInvalidUser means the image's config User names a user or group
	// that the rootfs's /etc/passwd or /etc/group does not define
	// (image-spec conversion.md: the converter MUST return an error).
	ErrInvalidUser = errors.New("unpack: cannot resolve image user")
)
