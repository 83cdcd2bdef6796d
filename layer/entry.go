package layer

import (
	"archive/tar"
	"fmt"
	"strings"
)

// entryKind is what an entry creates (or removes).
type entryKind uint8

const (
	kindIgnore entryKind = iota
	kindFile
	kindDir
	kindSymlink
	kindHardlink
	kindChar
	kindBlock
	kindFifo
	kindWhiteout
	kindOpaque
)

func (k entryKind) String() string {
	switch k {
	case kindIgnore:
		return "ignored"
	case kindFile:
		return "regular file"
	case kindDir:
		return "directory"
	case kindSymlink:
		return "symlink"
	case kindHardlink:
		return "hard link"
	case kindChar:
		return "character device"
	case kindBlock:
		return "block device"
	case kindFifo:
		return "fifo"
	case kindWhiteout:
		return "whiteout"
	case kindOpaque:
		return "opaque whiteout"
	}
	return "unknown"
}

// GNU type flags archive/tar passes through without naming them.
const (
	typeGNUDumpDir = 'D' // gnu-incremental directory listing: a directory
	typeGNUVolume  = 'V' // volume label: creates nothing
)

// Bounds of fields the kernel takes as 32-bit values.
const (
	maxDevNumber = 1<<32 - 1
	// modeBits are what a tar mode may hold: permissions, setuid, setgid,
	// sticky, and the file-type bits some writers copy from st_mode (Go's
	// FileInfoHeader did before Go 1.10); the type bits are ignored, the
	// type flag decides.
	modeBits = 0o7777 | 0o170000
)

// entry is a validated tar header: what to create, where, with what.
type entry struct {
	hdr  *tar.Header
	kind entryKind
	// path is the cleaned name ("." for the root); parent and name split
	// it (name is "" for the root).
	path, parent, name string
	// target: the path a whiteout removes, the directory an opaque marker
	// clears, the cleaned in-root target of a hard link, or the verbatim
	// target of a symlink.
	target string
	// mode holds permission, setuid, setgid and sticky bits.
	mode     uint32
	uid, gid int64
	// sparse marks GNU or PAX sparse files; size is the logical size.
	sparse bool
	size   int64
	xattrs []xattr
	// dropped are xattr names the policy removed (droppedXattr).
	dropped []string
	// nameInfo and linkInfo record how cleaning changed the names, for
	// Audit.
	nameInfo, linkInfo cleanedName
}

// parseEntry validates hdr and turns it into an entry. It does no I/O. Its
// errors match ErrInvalidEntry (or ErrLimitExceeded for over-long names).
func parseEntry(hdr *tar.Header) (*entry, error) {
	e := &entry{hdr: hdr}
	switch hdr.Typeflag {
	case tar.TypeXGlobalHeader, typeGNUVolume:
		// Nothing is created, not even parent directories (moby
		// TestXGlobalNoParent); umoci used to fail on 'g'.
		e.kind = kindIgnore
		return e, nil
	case tar.TypeReg, tar.TypeCont, tar.TypeGNUSparse: // archive/tar turns TypeRegA into TypeReg
		e.kind = kindFile
	case tar.TypeDir, typeGNUDumpDir:
		e.kind = kindDir
	case tar.TypeSymlink:
		e.kind = kindSymlink
	case tar.TypeLink:
		e.kind = kindHardlink
	case tar.TypeChar:
		e.kind = kindChar
	case tar.TypeBlock:
		e.kind = kindBlock
	case tar.TypeFifo:
		e.kind = kindFifo
	default:
		return e, invalidEntry("unsupported type flag %q", hdr.Typeflag)
	}
	var err error
	if e.nameInfo, err = cleanName(hdr.Name); err != nil {
		return e, err
	}
	e.path = e.nameInfo.path
	if e.path != rootPath {
		e.parent, e.name = splitPath(e.path)
	} else {
		e.parent = rootPath
	}

	wk, target, err := classifyWhiteout(e.path)
	if err != nil {
		return e, err
	}
	switch wk {
	case plainWhiteout:
		e.kind, e.target = kindWhiteout, target
		return e, nil
	case opaqueMarker:
		e.kind, e.target = kindOpaque, target
		return e, nil
	case aufsMeta:
		e.kind = kindIgnore
		return e, nil
	}

	if e.path == rootPath && e.kind != kindDir {
		return e, invalidEntry("a %s entry for the root directory itself is refused (CVE-2021-29136)", e.kind)
	}
	if hdr.Mode < 0 || hdr.Mode&^modeBits != 0 {
		return e, invalidEntry("mode %#o has bits outside %#o", hdr.Mode, modeBits)
	}
	e.mode = uint32(hdr.Mode & 0o7777)
	if uid, gid := int64(hdr.Uid), int64(hdr.Gid); uid < 0 || uid > maxID || gid < 0 || gid > maxID {
		return e, invalidEntry("owner %d:%d outside 0..%d", hdr.Uid, hdr.Gid, int64(maxID))
	}
	e.uid, e.gid = int64(hdr.Uid), int64(hdr.Gid)
	if hdr.Size < 0 {
		return e, invalidEntry("negative size %d", hdr.Size)
	}

	switch e.kind {
	case kindFile:
		e.size = hdr.Size
		e.sparse = hdr.Typeflag == tar.TypeGNUSparse || hasSparseRecords(hdr.PAXRecords)
	case kindSymlink:
		switch {
		case strings.IndexByte(hdr.Linkname, 0) >= 0:
			return e, invalidEntry("NUL byte in symlink target %q", hdr.Linkname)
		case hdr.Linkname == "":
			return e, invalidEntry("empty symlink target")
		case len(hdr.Linkname) > maxNameLength:
			return e, &LimitError{Limit: "NameLength", Value: maxNameLength}
		}
		e.target = hdr.Linkname
		e.linkInfo, _ = cleanName(hdr.Linkname)
	case kindHardlink:
		if e.linkInfo, err = cleanName(hdr.Linkname); err != nil {
			return e, fmt.Errorf("hard link target: %w", err)
		}
		if e.linkInfo.path == rootPath {
			return e, invalidEntry("hard link to the root directory %q", hdr.Linkname)
		}
		e.target = e.linkInfo.path
	case kindChar, kindBlock:
		if hdr.Devmajor < 0 || hdr.Devmajor > maxDevNumber || hdr.Devminor < 0 || hdr.Devminor > maxDevNumber {
			return e, invalidEntry("device number %d:%d out of range", hdr.Devmajor, hdr.Devminor)
		}
	}
	if e.xattrs, e.dropped, err = xattrsFromPAX(hdr.PAXRecords); err != nil {
		return e, err
	}
	return e, nil
}

// hasSparseRecords reports GNU sparse PAX records (formats 0.0, 0.1, 1.0).
func hasSparseRecords(records map[string]string) bool {
	for k := range records {
		if strings.HasPrefix(k, "GNU.sparse.") {
			return true
		}
	}
	return false
}
