// Package extgzip runs an external gzip decompressor (igzip from ISA-L, or
// pigz) for the layer package, whose single-core built-in inflate is the
// ceiling of a gzip layer: igzip inflates a Debian rootfs layer about four
// times faster than Go (docs/performance.md).
//
// Threat model: the compressed input is hostile, and the decompressor is C
// code parsing it. So the program is found on the host's PATH when the
// CLI starts, as an absolute path (never resolved again, never inside a
// rootfs being built), and it runs with an empty environment, only stdin,
// stdout and stderr (every descriptor of ours is close-on-exec), killed if
// we exit, and, when we are root, as uid and gid 65534 without
// supplementary groups or capabilities: a decompressor compromised by its
// input holds two pipes and nobody's rights. Its output is still bounded,
// hashed and parsed by the layer package, and the compressed stream is fed
// to it by our own (verifying) reader, so digests are computed by
// safeunpack, not trusted from the program.
//
// Differences from the built-in decoder: trailing garbage after the last
// gzip member is ignored by igzip and pigz (the blob digest still covers
// it); a corrupt or truncated stream is an error either way.
package extgzip
