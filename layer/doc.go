// Package layer applies one OCI image layer, streamed, onto a root
// filesystem held as a [pathrs.Root], and audits layers without extracting
// them. It is where hostile tarballs meet the filesystem.
//
// [Apply] reads a layer blob (plain tar, gzip or zstd, chosen by media
// type or by magic bytes), decompresses it in its own goroutine while a
// second goroutine computes the DiffID and the calling goroutine applies
// the entries (a privileged Apply hands regular files, once created, to a
// fourth goroutine that writes their data, sets their metadata and closes
// them), and returns what it did. [Audit] reads a blob the same way
// and reports every hazardous entry instead.
//
// # Threat model
//
// The layer is hostile: any name, link target, mode, owner, size, type,
// xattr and ordering of entries, and any number of them; earlier layers
// were hostile too (the rootfs holds their symlinks, hardlinks, FIFOs and
// devices). While Apply runs, another process may rename, swap, create and
// delete anything inside the root. Under that attacker:
//   - nothing outside the root is created, removed, renamed, written,
//     truncated, chmodded, chowned, retimed or given xattrs, and no inode
//     outside the root gains a hard link from inside it (threats.md INV-1
//     to INV-3): every operation is a pathrs call on a descriptor resolved
//     with RESOLVE_IN_ROOT semantics, never a joined path handed to os.*;
//   - the root itself is never replaced: it is a descriptor opened once,
//     and a non-directory entry naming it is refused (CVE-2021-29136);
//   - no existing file is written through or opened: regular files are
//     created with O_CREAT|O_EXCL|O_NOFOLLOW after removing what was there,
//     so hard links to the old inode keep their contents and a FIFO or
//     device at the name is never opened (T14, T21); metadata is applied
//     through our own descriptor or by name without following;
//   - resources are bounded by [Limits]: uncompressed bytes (a bomb stops
//     at the cap, threats.md T36/T37), entries, header bytes, the zstd
//     window, symlink hops (40, enforced by pathrs) and the bookkeeping
//     below; malformed input is an error naming the entry and the offset,
//     never a panic (FuzzApply checks it).
//
// Not covered: an attacker who can also write outside the root (who could
// move a directory we hold open to outside it, see pathrs); whoever chose
// the root; the host-side danger of what a layer legitimately contains
// (setuid-root binaries and device nodes are created as recorded when the
// process may: keep the bundle unreachable by other users, umoci's
// security.md); consistency of the rootfs after an error (the caller
// discards it).
//
// # Tar parsing
//
// Header blocks are the most exposed input, so archive/tar decides
// everything unusual. tarReader parses only the plain case itself (a ustar
// or GNU block with a valid checksum, a plain entry type and canonical
// octal numbers, the bulk of every real layer) and has archive/tar parse
// PAX and GNU long-name records, on a copy of exactly those blocks. For
// anything else (sparse files, global headers, V7 or STAR blocks, base-256
// numbers, a bad checksum, the end of the archive, truncation) it gives
// the bytes back to the stream and archive/tar reads the rest of it
// itself. FuzzTarReader holds the two to the same headers, data and
// errors on arbitrary input; only Header.Format, which layer never reads,
// may differ. archive/tar's own name check (ErrInsecurePath, under
// GODEBUG=tarinsecurepath=0) is ignored on every path: names are cleaned
// below, the same way whichever parser read them.
//
// # Names
//
// Names are cleaned lexically, as if the layer were chrooted into the
// rootfs (the model RESOLVE_IN_ROOT applies to symlinks everywhere):
// path.Clean("/"+name), so a leading "/" is stripped and ".." that would
// climb above the root is clamped at the root, as umoci and containerd do
// (Audit reports such names). A NUL byte is an error, never a truncation.
// ".", "./", "/", "", "a/.." and ".." name the root, which may only be a
// directory entry: its metadata is applied to the root. The parent of each
// entry is resolved once, symlinks followed inside the root, through a
// small cache of open directory handles that is emptied whenever the layer
// removes or replaces a directory or symlink; missing parents are created
// (mode 0755, owned by the process or, with an id map, the mapped root),
// one mkdirat at a time, each opened without following. A parent that
// exists as a non-directory, or as a symlink whose in-root target does not
// exist, is an error (ENOTDIR, as in containerd and moby): nothing is
// replaced or created through it. The final component is never followed.
//
// # Entries
//
// Regular files (including contiguous and sparse ones: holes are skipped,
// never written as zeros, and the logical size counts against MaxBytes),
// directories, symlinks (target stored verbatim), hard links (target
// cleaned like a name and resolved in the same root; absolute targets
// re-rooted; a target not present yet is an error; no metadata is applied,
// since the inode is shared, T11/T13), character and block devices and
// FIFOs (mknod; devices need CAP_MKNOD). PAX global headers and GNU volume
// labels are ignored and create nothing. An existing entry of another type
// is removed (recursively for a directory, by descriptor) and recreated; a
// directory over a directory keeps its children and takes the new
// metadata, its stale xattrs included. Duplicate names: the last wins.
//
// # Whiteouts
//
// ".wh.<name>" removes <name> as lower layers left it; ".wh..wh..opq"
// removes the lower-layer children of its directory. Neither touches what
// this layer itself creates, whether the whiteout comes before or after
// (image-spec layer.md); containerd and moby delete same-layer entries
// that precede a whiteout. ".wh.", ".wh..", ".wh..." and a ".wh." name used
// as a directory are errors before anything is removed (image-spec PR
// #1314); aufs metadata (".wh..wh.plnk" and the like) is skipped. Parents
// resolve in the root; a missing path is a no-op; whiteouts never appear
// in the rootfs.
//
// Same-layer bookkeeping is a set of 64-bit hashes (random seed per layer)
// of cleaned paths with flag bits: every directory the layer creates or
// finds empty when it first adds to it ("new": nothing below it is from a
// lower layer), every explicit entry whose parent is not new, and their
// ancestors. Memory is therefore some 30-60 bytes per directory touched and
// per entry added directly into a pre-existing, non-empty directory,
// bounded by Limits.MaxTrackedPaths; a layer of a million files in new
// directories costs next to nothing. A whiteout of P is a no-op when P's
// parent is new; removes P recursively when P holds nothing of this layer;
// keeps P when it is this layer's non-directory or new directory; and
// otherwise prunes P: removes, with an explicit stack and without
// recursion, the children holding nothing of this layer. An opaque marker
// prunes its directory. Bookkeeping is lexical: a layer reaching one
// directory through two symlinked spellings may see a whiteout under one
// spelling remove same-layer content created under the other; it cannot
// reach outside the root.
//
// # Metadata
//
// In this order: owner (numeric uid/gid from the header, mapped through
// Options.UIDMap/GIDMap; user and group names are never looked up, T24),
// then mode (exact, independent of the umask; setuid and setgid survive
// because chown comes first), then xattrs from PAX SCHILY.xattr.* records
// (security.capability kept; security.selinux, system.nfs4_acl,
// trusted.overlay.* and user.overlay.* dropped; a NUL in a name is an
// error; a filesystem without xattrs gives one warning per layer), then
// access and modification times with nanoseconds, symlinks included.
// Directory times are restored after their children: when the stream
// leaves a directory's subtree, and for the rest at the end of the layer,
// once per directory, never after every entry.
//
// # Stream
//
// gzip is github.com/klauspost/compress/gzip (multistream); zstd is
// klauspost's decoder with an explicit window cap (Limits.ZstdMaxWindow,
// also its memory bound) and no decoder goroutines. The DiffID is the
// sha256 of every uncompressed byte, those after the end-of-archive blocks
// included, and the blob is read to its end so that a verifying reader
// around it sees EOF. Regular-file data is written straight from the
// stream's chunks: one write(2) per chunk a file's data spans.
//
// Regular files are created by the applier, in archive order, and then
// written, given their metadata and closed by the file writer through that
// descriptor alone: the writer never resolves a path. A failure there is
// still reported as an *EntryError naming that file, even if the applier
// has gone on to later entries (a failed Apply leaves the root as far as
// the layer got, for the caller to discard, as before). Its queue holds at
// most 64 files and 8 MiB of their data; Apply returns after the writer has
// finished or, on error, closed every file.
//
// # Kernel features
//
// Those of pathrs: openat2 (5.6) or its emulation, fchmodat2 (6.6) or the
// verified procfs, setxattrat (6.13) or re-opening. The package is
// Linux-only except for Audit and the option and name handling.
//
// # Rootless
//
// With Options.Rootless (a process that cannot chown freely: an
// unprivileged user, or root of a user namespace) nothing fails for lack of
// privilege half-way through a layer, and nothing the image says is lost
// silently:
//   - Owners: an id inside Options.UIDMap/GIDMap (by default container id
//     0, the unpacking user itself; in a user namespace, the ids it maps)
//     is applied with chown; every other id is recorded in the
//     [RootlessXattr] attribute, user.rootlesscontainers, exactly as umoci
//     writes it, so that umoci repack and other consumers read it. The
//     value is protobuf Resource{uint32 uid = 1; uint32 gid = 2}
//     ([RecordedOwner]), hand-encoded: a field is the image's id, or
//     [NoopID] (0xFFFFFFFF, "the real owner is right") for an id that was
//     applied; zero fields are omitted as proto3 does; no attribute at all
//     when both are NoopID (an entry owned by 0:0). Byte for byte, checked
//     against umoci 0.4.7 (docs/rootless.md has the evidence; the tests
//     compare with umoci's output when it is installed): 1000:1000 is
//     08 e8 07 10 e8 07, 0:1000 is 08 ff ff ff ff 0f 10 e8 07. We chose
//     this attribute over containers/storage's user.containers.override_stat
//     because umoci, the other tool that unpacks OCI layouts into bundles
//     as an ordinary user, writes and reads it, and it records exactly the
//     owner (override_stat also carries a mode, which the file already
//     has). Unlike umoci the record is written before the mode, so a file
//     of mode 0000 (/etc/gshadow) is recorded too (user.* xattrs need write
//     permission); the kernel refuses user.* xattrs on symlinks and FIFOs,
//     whose owners are therefore not recorded (one summary warning per
//     layer, with the count).
//   - Devices: mknod of a character or block device needs CAP_MKNOD in
//     the initial user namespace, so a device entry becomes an empty
//     regular file with the device's mode, owner (recorded) and times, as
//     umoci does: the path exists for a runtime to bind-mount a device over
//     and for a later whiteout to find. One warning line per layer says
//     how many there were. FIFOs are created as usual.
//   - setuid and setgid bits are applied with the mode after the owner, and
//     kept wherever the kernel lets the owner keep them (a file's group is
//     the unpacking user's).
//   - Restrictive modes: a directory whose mode denies its owner access
//     (0000, 0500, a lower layer's 0555) stops an ordinary user from
//     creating, removing or even finding its children; root never notices
//     (CAP_DAC_OVERRIDE). Modes are applied as the image says at once;
//     when an operation then fails with EACCES, the directories on its
//     path that the unpacking user owns and cannot use are opened up
//     (chmod u+rwx through a descriptor of the directory itself,
//     fchmodat2, never following) and the operation runs once more. Each
//     directory opened up is held by an O_PATH descriptor and given its
//     image mode back through that descriptor, newest first, as soon as
//     the stream leaves its subtree (in the end-of-layer pass of directory
//     times at the latest, and on error). A directory entry applied over a
//     directory that is open at the time updates the mode to give back. At
//     most 1024 are open at once (a tar written by walking a tree holds at
//     most its depth); more is a [LimitError] "RestrictedDirectories".
//   - User xattrs of the image are applied before the mode for the same
//     reason; those needing privilege (trusted.*, security.capability for
//     an unprivileged user) are dropped with a warning; a layer's own
//     user.rootlesscontainers is ignored (the header's owner wins).
package layer
