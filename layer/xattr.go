package layer

import (
	"slices"
	"strings"
)

// paxXattrPrefix introduces an extended attribute in a PAX header, the
// form GNU tar, bsdtar, Docker and BuildKit write.
const paxXattrPrefix = "SCHILY.xattr."

// Kernel limits on one xattr (include/uapi/linux/limits.h): XATTR_NAME_MAX
// and XATTR_SIZE_MAX. Checking them here makes an oversized attribute an
// invalid entry, the same on every filesystem.
const (
	maxXattrName  = 255
	maxXattrValue = 64 << 10
)

// xattr is one extended attribute of an entry.
type xattr struct {
	name  string
	value []byte
}

// droppedXattr reports whether an xattr from a layer is never applied:
//   - security.selinux: labels belong to the host's policy, not the image
//     (umoci and containerd drop them too); a runtime relabels.
//   - system.nfs4_acl: NFSv4 ACLs from an NFS-backed build host mean
//     nothing on the target filesystem and fail there.
//   - trusted.overlay.* and user.overlay.*: overlayfs's own markers
//     (opaque, redirect, metacopy, origin). Planted in a rootfs that later
//     becomes an overlay lower layer they redirect lookups, possibly out of
//     the layer (threats.md T28).
//
// security.capability is kept: file capabilities are how images such as
// ping work without setuid (overlaybd#301).
func droppedXattr(name string) bool {
	switch name {
	case "security.selinux", "system.nfs4_acl":
		return true
	}
	return strings.HasPrefix(name, "trusted.overlay.") || strings.HasPrefix(name, "user.overlay.")
}

// xattrsFromPAX extracts the extended attributes of an entry from its PAX
// records, sorted by name, split into those to apply and those the policy
// drops. A NUL byte in a name, an empty name, or a name or value beyond the
// kernel's limits is an invalid entry.
func xattrsFromPAX(records map[string]string) (keep []xattr, dropped []string, err error) {
	for k, v := range records {
		name, ok := strings.CutPrefix(k, paxXattrPrefix)
		if !ok {
			continue
		}
		switch {
		case name == "":
			return nil, nil, invalidEntry("empty xattr name")
		case strings.IndexByte(name, 0) >= 0:
			return nil, nil, invalidEntry("NUL byte in xattr name %q", name)
		case len(name) > maxXattrName:
			return nil, nil, invalidEntry("xattr name %q longer than %d bytes", name[:32], maxXattrName)
		case len(v) > maxXattrValue:
			return nil, nil, invalidEntry("xattr %q value longer than %d bytes", name, maxXattrValue)
		}
		if droppedXattr(name) {
			dropped = append(dropped, name)
			continue
		}
		keep = append(keep, xattr{name: name, value: []byte(v)})
	}
	slices.SortFunc(keep, func(a, b xattr) int { return strings.Compare(a.name, b.name) })
	slices.Sort(dropped)
	return keep, dropped, nil
}
