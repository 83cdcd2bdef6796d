package layer

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"path"
	"strings"

	"github.com/opencontainers/go-digest"
)

// Finding kinds reported by [Audit]. Each names a hazard for an unpacker
// (safeunpack refuses or neutralises every one of them; naive unpackers do
// not), or something a reviewer of an image should know.
const (
	// FindingInvalidEntry: Apply refuses the entry (see [ErrInvalidEntry]);
	// Detail is the reason.
	FindingInvalidEntry = "invalid-entry"
	// FindingNameOutsideRoot: an absolute name, or ".." climbing above the
	// root (Apply strips and clamps them: zip-slip, T01).
	FindingNameOutsideRoot = "name-outside-root"
	// FindingRootReplacement: a non-directory entry for the root itself
	// (CVE-2021-29136).
	FindingRootReplacement = "root-replacement"
	// FindingSymlinkOutsideRoot: a relative symlink target climbing above
	// the root, or an absolute one with ".." above "/" (followed on the
	// host, outside a chroot, it leaves the rootfs).
	FindingSymlinkOutsideRoot = "symlink-outside-root"
	// FindingHardlinkOutsideRoot: a hard link name that is absolute with
	// "..", or relative and climbing above the root (T02, T10).
	FindingHardlinkOutsideRoot = "hardlink-outside-root"
	// FindingHardlinkToSymlink: a hard link to a symlink of this layer
	// (T11, T13, CVE-2021-32760).
	FindingHardlinkToSymlink = "hardlink-to-symlink"
	// FindingThroughSymlink: an entry (or hard link target) whose path
	// runs through a symlink this layer created earlier (T03, T04).
	FindingThroughSymlink = "path-through-symlink"
	// FindingInvalidWhiteout: ".wh.", ".wh..", ".wh..." or ".wh." used as a
	// directory (T15).
	FindingInvalidWhiteout = "invalid-whiteout"
	// FindingOpaqueRoot: an opaque whiteout of the root: every lower layer
	// is wiped (T18).
	FindingOpaqueRoot = "opaque-root"
	// FindingDevice: a character or block device node (T22).
	FindingDevice = "device"
	// FindingSetuid and FindingSetgid: privileged executables (T23).
	FindingSetuid = "setuid"
	FindingSetgid = "setgid"
	// FindingWorldWritable: a file or a directory without the sticky bit
	// that everybody may write.
	FindingWorldWritable = "world-writable"
	// FindingHugeSize: a regular file declaring at least HugeSize bytes,
	// or more than Limits.MaxBytes.
	FindingHugeSize = "huge-size"
	// FindingSparse: a sparse file whose logical size is at least HugeSize
	// (a sparse bomb for unpackers that write holes as zeros, T35).
	FindingSparse = "sparse-bomb"
	// FindingXattr: an overlay marker (trusted.overlay.*, user.overlay.*),
	// a security.* or trusted.* attribute, or system.nfs4_acl (T28).
	FindingXattr = "xattr"
)

// HugeSize is the declared size from which Audit reports a file.
const HugeSize = 1 << 30

// Finding is one hazardous entry reported by Audit.
type Finding struct {
	// Entry is the name as stored in the archive.
	Entry string
	// Offset of the entry's header in the uncompressed stream.
	Offset int64
	// Kind is one of the Finding* constants.
	Kind string
	// Detail explains the finding.
	Detail string
}

// AuditReport is what Audit found.
type AuditReport struct {
	// DiffID is the sha256 of the whole uncompressed stream (set only when
	// the whole layer was read).
	DiffID digest.Digest
	// Compression is the decompressor used (set only when the whole layer
	// was read).
	Compression Compression
	// Entries is the number of tar entries read.
	Entries int64
	// Findings in stream order.
	Findings []Finding
}

// Audit reads a layer blob without extracting it and reports every
// hazardous entry: names leaving the root, links out of the root or through
// symlinks of the layer, whiteout tricks, root replacement, devices,
// setuid and setgid files, world-writable files, huge declared sizes,
// sparse bombs and overlay or security xattrs. It uses the same
// decompression, limits and name cleaning as [Apply]. An entry Apply would
// refuse is a finding, not an error; a stream Audit cannot read (corrupt,
// truncated, over a limit) is an error, returned together with the
// findings so far.
func Audit(ctx context.Context, blob io.Reader, opts Options) (*AuditReport, error) {
	cfg, err := opts.validate()
	if err != nil {
		return nil, err
	}
	if blob == nil {
		return nil, fmt.Errorf("%w: nil blob", ErrInvalidOptions)
	}
	s := startStream(ctx, blob, cfg.compression, cfg.limits, cfg.gunzip)
	defer s.stopAndWait()
	er := newEntryReader(s, cfg.limits)
	defer er.sr.release()
	au := &auditor{
		seed:     maphash.MakeSeed(),
		symlinks: map[uint64]struct{}{},
		limit:    cfg.limits.MaxTrackedPaths,
		lim:      cfg.limits,
	}
	rep := &AuditReport{}
	progress := newProgressReporter(cfg.progress, &s.compressed)
	for {
		hdr, off, err := er.next(ctx)
		if errors.Is(err, io.EOF) {
			break
		}
		rep.Entries = er.entries
		if err != nil {
			rep.Findings = au.findings
			return rep, err
		}
		if err := au.entry(hdr, off); err != nil {
			rep.Findings = au.findings
			return rep, &EntryError{Entry: hdr.Name, Offset: off, Err: err}
		}
		progress.entry(er.entries)
	}
	rep.Findings = au.findings
	if err := er.finish(); err != nil {
		return rep, err
	}
	s.wait()
	if rep.DiffID, err = s.diffID(); err != nil {
		return rep, err
	}
	rep.Compression = s.comp
	progress.done(er.entries)
	return rep, nil
}

// auditor holds Audit's per-layer state: the symlinks this layer created
// (hashes of their paths), to spot entries and links through or to them;
// bounded by MaxTrackedPaths like the applier's tracker.
type auditor struct {
	seed     maphash.Seed
	symlinks map[uint64]struct{}
	limit    int64
	lim      Limits
	findings []Finding
	name     string
	off      int64
}

func (au *auditor) add(kind, format string, args ...any) {
	au.findings = append(au.findings, Finding{Entry: au.name, Offset: au.off, Kind: kind, Detail: fmt.Sprintf(format, args...)})
}

func (au *auditor) key(p string) uint64 { return maphash.String(au.seed, p) }

// throughSymlink returns the first ancestor of p that this layer made a
// symlink, or "".
func (au *auditor) throughSymlink(p string) string {
	for p != rootPath {
		p = parentPath(p)
		if _, ok := au.symlinks[au.key(p)]; ok {
			return p
		}
	}
	return ""
}

func (au *auditor) entry(hdr *tar.Header, off int64) error {
	name := hdr.Name
	au.name, au.off = name, off
	e, err := parseEntry(hdr)
	if err != nil {
		switch {
		case errors.Is(err, ErrInvalidWhiteout):
			au.add(FindingInvalidWhiteout, "%v", err)
		case e.path == rootPath && e.kind != kindDir && e.kind != kindIgnore:
			au.add(FindingRootReplacement, "a %s entry for the root directory", e.kind)
		default:
			au.add(FindingInvalidEntry, "%v", err)
		}
		return nil
	}
	if e.kind == kindIgnore {
		return nil
	}
	switch {
	case e.nameInfo.clamped:
		au.add(FindingNameOutsideRoot, "%q climbs above the root (clamped to %q)", name, e.path)
	case e.nameInfo.absolute:
		au.add(FindingNameOutsideRoot, "absolute name (stripped to %q)", e.path)
	}
	if via := au.throughSymlink(e.path); via != "" {
		au.add(FindingThroughSymlink, "path runs through symlink %q created earlier in this layer", via)
	}
	switch e.kind {
	case kindWhiteout, kindOpaque:
		if e.kind == kindOpaque && e.target == rootPath {
			au.add(FindingOpaqueRoot, "opaque whiteout of the root removes every lower layer")
		}
		return nil // same-layer symlinks survive whiteouts, so the set stays
	case kindSymlink:
		au.symlink(e)
	case kindHardlink:
		au.hardlink(e)
	case kindChar, kindBlock:
		au.add(FindingDevice, "%s %d:%d mode %#o", e.kind, e.hdr.Devmajor, e.hdr.Devminor, e.mode)
	case kindFile:
		au.file(e)
	}
	if e.kind != kindSymlink && e.kind != kindHardlink {
		au.modeFindings(e)
	}
	for _, x := range e.xattrs {
		if hazardousXattr(x.name) {
			au.add(FindingXattr, "%s", x.name)
		}
	}
	for _, n := range e.dropped {
		au.add(FindingXattr, "%s (dropped by Apply)", n)
	}
	return au.record(e)
}

func (au *auditor) symlink(e *entry) {
	t := e.target
	var escapes bool
	if strings.HasPrefix(t, "/") {
		escapes = e.linkInfo.clamped
	} else {
		c := path.Clean(path.Join(e.parent, t))
		escapes = c == ".." || strings.HasPrefix(c, "../")
	}
	if escapes {
		au.add(FindingSymlinkOutsideRoot, "target %q climbs above the root", t)
	}
}

func (au *auditor) hardlink(e *entry) {
	if e.linkInfo.clamped {
		au.add(FindingHardlinkOutsideRoot, "link name %q climbs above the root", e.hdr.Linkname)
	}
	if _, ok := au.symlinks[au.key(e.target)]; ok {
		au.add(FindingHardlinkToSymlink, "hard link to symlink %q", e.target)
	}
	if via := au.throughSymlink(e.target); via != "" {
		au.add(FindingThroughSymlink, "hard link target runs through symlink %q created earlier in this layer", via)
	}
}

func (au *auditor) file(e *entry) {
	switch {
	case e.sparse && e.size >= HugeSize:
		au.add(FindingSparse, "sparse file of logical size %d", e.size)
	case e.size > au.lim.MaxBytes:
		au.add(FindingHugeSize, "declared size %d exceeds MaxBytes %d", e.size, au.lim.MaxBytes)
	case e.size >= HugeSize:
		au.add(FindingHugeSize, "declared size %d", e.size)
	}
}

func (au *auditor) modeFindings(e *entry) {
	if e.mode&0o4000 != 0 && e.kind == kindFile {
		au.add(FindingSetuid, "mode %#o owner %d", e.mode, e.uid)
	}
	if e.mode&0o2000 != 0 && e.kind == kindFile {
		au.add(FindingSetgid, "mode %#o group %d", e.mode, e.gid)
	}
	if e.mode&0o002 != 0 && !(e.kind == kindDir && e.mode&0o1000 != 0) {
		au.add(FindingWorldWritable, "%s mode %#o", e.kind, e.mode)
	}
}

// record remembers e's path if it is a symlink, and forgets a symlink an
// entry of another type replaced (bounded by MaxTrackedPaths).
func (au *auditor) record(e *entry) error {
	k := au.key(e.path)
	if e.kind != kindSymlink {
		delete(au.symlinks, k)
		return nil
	}
	if _, ok := au.symlinks[k]; !ok && int64(len(au.symlinks)) >= au.limit {
		return &LimitError{Limit: "MaxTrackedPaths", Value: au.limit}
	}
	au.symlinks[k] = struct{}{}
	return nil
}

// hazardousXattr reports xattrs worth a reviewer's attention among those
// Apply keeps.
func hazardousXattr(name string) bool {
	return strings.HasPrefix(name, "security.") || strings.HasPrefix(name, "trusted.")
}
