// Package unpack turns an OCI image layout into a runtime bundle that runc
// or crun can start: BUNDLE/rootfs, BUNDLE/config.json and
// BUNDLE/safeunpack.json. It also applies single layer files to a
// directory ([ApplyLayerFile]), audits them ([AuditLayerFile]) and lists a
// layout's images ([List]).
//
// # Threat model
//
// The image is hostile: its layout, JSON documents, blobs and layer
// contents may have been crafted to escape the bundle, exhaust memory or
// disk, hang the unpacker, or make it report a different image than the
// one it unpacked. The host is trusted, and so is whoever chose the paths
// of the layout and of the bundle. A concurrent attacker inside the rootfs
// while it is written is the layer and pathrs packages' concern; this
// package gives them a fresh directory that only the caller can reach
// (the staging directory is mode 0700).
//
// Guaranteed:
//
//   - Every blob is verified while it streams: its size (a descriptor size
//     of -1 or different from the file is refused before a byte is read)
//     and its digest (go-digest); every layer's DiffID matches the config's
//     rootfs.diff_ids, whose count must equal the number of layers. A
//     mismatch names the blob and wraps [ErrSizeMismatch],
//     [ErrDigestMismatch] or [ErrDiffIDMismatch].
//   - Reads are bounded: JSON documents (index.json, manifests, indexes,
//     configs) are capped at [MaxJSONSize], checked against the
//     descriptor or fstat before reading (CVE-2023-25153); nested indexes
//     at maxIndexDepth; layers by [layer.Limits].
//   - Only regular files are read from the layout, through an [os.Root],
//     so a blob that is a FIFO, a device or a symlink out of the layout is
//     refused without blocking.
//   - Descriptor URLs (non-distributable and foreign layers) are never
//     fetched (CVE-2020-15157): such a layer is unpacked only when its blob
//     is in the layout.
//   - An embedded mediaType that contradicts its descriptor is refused
//     (CVE-2021-41190).
//   - Rootfs contents are touched only through [pathrs.Root] (by the layer
//     package for extraction, and here for /etc/passwd and /etc/group,
//     which are resolved inside the rootfs, must be regular files under a
//     size cap, and are never opened when they are devices or FIFOs). No
//     rootfs path is ever joined to a host path and handed to package os.
//   - No name-service lookup and no external program is involved (T24):
//     users and groups come from the image's own files, parsed here.
//   - The bundle appears atomically or not at all: a staging directory
//     beside it is renamed into place only after everything verified, and
//     is removed on any error or cancellation (SIGINT, SIGTERM in the
//     CLI). An existing non-empty bundle is never modified.
//   - Annotations that runtimes act on with host effects (crun's run.oci.*,
//     runc's org.criu.*, CRI namespaces) are left out of config.json with a
//     warning, as image-spec conversion.md allows.
//   - Ownership follows the process's privilege, read from its uid_map and
//     gid_map through the verified procfs (internal/userns), never from the
//     euid alone: root of the initial user namespace applies owners (through
//     [Options.UIDMap] and [Options.GIDMap], where an unmapped id is an
//     error); an unprivileged user or root of a user namespace unpacks
//     rootless, recording what it cannot chown in [layer.RootlessXattr]
//     (docs/rootless.md). A fake uid_map mounted over /proc/self cannot
//     make a rootless process act as root.
//
// Not guaranteed:
//
//   - That the image is benign when run: config.json gives it the default
//     namespaces, mounts and Docker's default capability set, not a
//     sandbox policy (no seccomp profile is written).
//   - A process killed with SIGKILL leaves its staging directory behind,
//     named ".BUNDLE.safeunpack-staging-*" beside the bundle, mode 0700.
//   - [ApplyLayerFile] modifies its target in place and is not atomic.
//   - Protection against a privileged user on the host who modifies the
//     layout or the staging directory while it is being unpacked.
//
// # Selection
//
// A [Reference] names a layout and optionally a tag (the
// org.opencontainers.image.ref.name annotation) or a digest. Without
// either, the tag "latest" is used when present, else every entry of
// index.json is a candidate. Indexes (OCI and Docker manifest lists) are
// followed to manifests, BuildKit attestation manifests are skipped, and
// the platform ([Options.Platform], default the host's) picks one
// manifest. When nothing or several things match, the error lists the
// layout's tags and platforms.
//
// # Errors
//
// Errors wrap the sentinels in errors.go and are meant to be printed on
// one line. Options are validated before any I/O ([ErrInvalidOptions]).
//
// Linux only: the package relies on pathrs, renameat2(2) and O_PATH.
package unpack
