// Package imagegen writes small, deterministic OCI image layouts: tar
// layers built entry by entry with archive/tar (fixed mtimes, no user or
// group names), compressed with gzip or zstd, and the manifests, configs and
// indexes that reference them. The same inputs give byte-identical blobs
// with the same Go toolchain and klauspost/compress version.
//
// It produces the committed test images (testdata/images, through the
// genimages command run by go generate) and the broken or large images that
// tests build in temporary directories. It is test tooling: it trusts its
// input and does no containment of its own.
package imagegen
