package layer

import (
	"fmt"
	"slices"
)

// IDMap maps a contiguous range of container ids to host ids (umoci's
// --uid-map C:H:S syntax): container ids ContainerID ... ContainerID+Size-1
// become HostID ... HostID+Size-1.
type IDMap struct {
	ContainerID uint32
	HostID      uint32
	Size        uint32
}

// maxID is the largest id chown(2) accepts: (uid_t)-1 means "leave
// unchanged" and is never a valid owner.
const maxID = 1<<32 - 2

// idMapper translates container ids through a validated list of ranges.
type idMapper struct {
	kind string // "uid" or "gid", for messages
	maps []IDMap
}

func newIDMapper(kind string, maps []IDMap) (idMapper, error) {
	m := idMapper{kind: kind, maps: slices.Clone(maps)}
	for i, r := range maps {
		if r.Size == 0 {
			return m, fmt.Errorf("%w: %s map %d:%d:%d has size 0", ErrInvalidOptions, kind, r.ContainerID, r.HostID, r.Size)
		}
		if uint64(r.ContainerID)+uint64(r.Size) > 1<<32 || uint64(r.HostID)+uint64(r.Size) > 1<<32 {
			return m, fmt.Errorf("%w: %s map %d:%d:%d overflows 32-bit ids", ErrInvalidOptions, kind, r.ContainerID, r.HostID, r.Size)
		}
		for _, o := range maps[:i] {
			if uint64(r.ContainerID) < uint64(o.ContainerID)+uint64(o.Size) &&
				uint64(o.ContainerID) < uint64(r.ContainerID)+uint64(r.Size) {
				return m, fmt.Errorf("%w: %s maps %d:%d:%d and %d:%d:%d overlap", ErrInvalidOptions, kind,
					o.ContainerID, o.HostID, o.Size, r.ContainerID, r.HostID, r.Size)
			}
		}
	}
	return m, nil
}

// identity reports whether no mapping is configured.
func (m idMapper) identity() bool { return len(m.maps) == 0 }

// toHost maps a container id (already range-checked by parseEntry) to a
// host id. An unmapped id is ErrUnmappedID with a hint.
func (m idMapper) toHost(id int64) (int, error) {
	if host, ok := m.lookup(id); ok {
		return host, nil
	}
	return 0, fmt.Errorf("%w: %s %d is outside every --%s-map range; the image needs more subordinate ids "+
		"(see /etc/sub%s and newuidmap(1)) or a wider mapping", ErrUnmappedID, m.kind, id, m.kind, m.kind)
}

// lookup maps a container id to a host id; ok is false when no range
// holds it (or it would map to (uid_t)-1).
func (m idMapper) lookup(id int64) (host int, ok bool) {
	if m.identity() {
		return int(id), true
	}
	for _, r := range m.maps {
		if id >= int64(r.ContainerID) && id < int64(r.ContainerID)+int64(r.Size) {
			h := int64(r.HostID) + id - int64(r.ContainerID)
			if h > maxID {
				return 0, false
			}
			return int(h), true
		}
	}
	return 0, false
}

// rootHost returns the host id of container id 0, for directories this
// package creates on its own (implied parents), and whether there is one.
// Without a mapping the answer is "no": implied parents then keep the
// process's own ids, which is root:root for a privileged unpack.
func (m idMapper) rootHost() (int, bool) {
	if m.identity() {
		return 0, false
	}
	h, err := m.toHost(0)
	return h, err == nil
}
