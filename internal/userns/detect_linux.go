package userns

import (
	"fmt"
	"os"

	"github.com/safeunpack/safeunpack/procfs"
)

// Mode is how privileged the process is.
type Mode int

const (
	// InitialRoot is euid 0 in the initial user namespace: every id can be
	// chowned to and devices can be created.
	InitialRoot Mode = iota + 1
	// NamespaceRoot is euid 0 inside a child user namespace (unshare -U -r,
	// podman unshare, a rootless container): only the ids in the maps can
	// be used and devices cannot be created.
	NamespaceRoot
	// Unprivileged is any other euid: only the process's own ids.
	Unprivileged
)

// String names the mode for logs.
func (m Mode) String() string {
	switch m {
	case InitialRoot:
		return "root"
	case NamespaceRoot:
		return "root in a user namespace"
	case Unprivileged:
		return "unprivileged"
	}
	return "unknown"
}

// fullRange is the identity map of the initial user namespace.
var fullRange = procfs.IDRange{ContainerID: 0, HostID: 0, Size: 4294967295}

// Info is what Detect found.
type Info struct {
	Mode           Mode
	UID, GID       int
	UIDMap, GIDMap []procfs.IDRange
}

// Rootless reports whether an unpack in this mode must record ownership
// instead of applying it.
func (i Info) Rootless() bool { return i.Mode != InitialRoot }

// Reason explains the mode in one line, for --log-level=info.
func (i Info) Reason() string {
	switch i.Mode {
	case InitialRoot:
		return "euid 0 with the identity uid_map of the initial user namespace"
	case NamespaceRoot:
		return fmt.Sprintf("euid 0 inside a user namespace (uid_map %s): only mapped ids can be owners", FormatMap(i.UIDMap))
	default:
		return fmt.Sprintf("euid %d is not root (uid_map %s)", i.UID, FormatMap(i.UIDMap))
	}
}

// Test seam: how the maps are read.
var testReadIDMap = procfs.ReadIDMap

// Detect reads this process's uid and gid maps through the verified procfs
// and classifies the process.
func Detect() (Info, error) {
	uidMap, err := testReadIDMap(0, "uid_map")
	if err != nil {
		return Info{}, fmt.Errorf("userns: %w", err)
	}
	gidMap, err := testReadIDMap(0, "gid_map")
	if err != nil {
		return Info{}, fmt.Errorf("userns: %w", err)
	}
	info := Info{UID: os.Geteuid(), GID: os.Getegid(), UIDMap: uidMap, GIDMap: gidMap}
	switch {
	case info.UID != 0:
		info.Mode = Unprivileged
	case isIdentity(uidMap) && isIdentity(gidMap):
		info.Mode = InitialRoot
	default:
		info.Mode = NamespaceRoot
	}
	return info, nil
}

func isIdentity(m []procfs.IDRange) bool {
	return len(m) == 1 && m[0] == fullRange
}

// FormatMap renders a map as "C:H:S,..." (umoci's --uid-map syntax).
func FormatMap(m []procfs.IDRange) string {
	s := ""
	for i, r := range m {
		if i > 0 {
			s += ","
		}
		s += fmt.Sprintf("%d:%d:%d", r.ContainerID, r.HostID, r.Size)
	}
	if s == "" {
		return "(empty)"
	}
	return s
}
