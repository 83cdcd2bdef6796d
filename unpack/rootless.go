package unpack

import (
	"fmt"
	"log/slog"

	"github.com/safeunpack/safeunpack/internal/userns"
	"github.com/safeunpack/safeunpack/layer"
	"github.com/safeunpack/safeunpack/pathrs"
	"github.com/safeunpack/safeunpack/procfs"
)

// Test seam: how the process's privilege is found. It is userns.Detect,
// which reads uid_map and gid_map through the verified procfs handle: a
// file mounted over /proc/self/uid_map cannot make a rootless process
// believe it is root (threats.md section 2), and a euid of 0 alone is not
// root (root of a user namespace cannot chown to unmapped ids or create
// devices).
var detectPrivilege = userns.Detect

// ownership is how an unpack applies the owners of the image: decided once
// per operation from the detected privilege and the options.
type ownership struct {
	// info is what detection found.
	info userns.Info
	// rootless is true when owners that cannot be applied are recorded
	// (layer.Options.Rootless); forced when --rootless asked for it.
	rootless, forced bool
	// layerUIDs and layerGIDs are the maps given to the layer package: the
	// ids it chowns to. In rootless mode, the ids the process can use.
	layerUIDs, layerGIDs []layer.IDMap
	// specUIDs and specGIDs are the user namespace mappings of
	// config.json; empty (privileged, no maps) means no user namespace.
	specUIDs, specGIDs []layer.IDMap
}

// chooseOwnership detects the process's privilege and decides the
// ownership mode, logging it (one info line with the reason, which the CLI
// shows at --log-level=info). A failed detection is an error: guessing
// "root" could chown files to ids nobody intended, guessing "rootless"
// would silently drop owners.
func chooseOwnership(opts *Options, log *slog.Logger) (*ownership, error) {
	info, err := detectPrivilege()
	if err != nil {
		return nil, fmt.Errorf("unpack: detecting whether this process may chown: %w", err)
	}
	own, err := decideOwnership(opts, info)
	if err != nil {
		return nil, err
	}
	reason := info.Reason()
	switch {
	case own.forced:
		log.Info("rootless unpack (--rootless): owners that cannot be applied are recorded in "+layer.RootlessXattr,
			"privilege", info.Mode.String(), "reason", "--rootless given; "+reason)
	case own.rootless:
		log.Info("rootless unpack: owners that cannot be applied are recorded in "+layer.RootlessXattr,
			"privilege", info.Mode.String(), "reason", reason)
	default:
		log.Info("privileged unpack: owners applied as the image records them", "privilege", info.Mode.String(),
			"reason", reason)
	}
	return own, nil
}

// decideOwnership is the decision itself, without I/O:
//
//   - root of the initial user namespace: owners applied with chown,
//     through --uid-map and --gid-map when given (an unmapped id is an
//     error), and config.json gets a user namespace with those maps;
//   - root of a child user namespace (or --rootless there): rootless; the
//     ids of the namespace's own uid_map and gid_map are chowned to (or,
//     with --uid-map, the ids it maps to; the kernel refuses the others
//     and they are recorded), every other id is recorded; config.json maps
//     the same ids;
//   - an unprivileged user, or root with --rootless: rootless with umoci's
//     rule: container id 0 is the unpacking user, every other owner is
//     recorded; config.json maps 0 to the caller's euid and egid, or uses
//     --uid-map and --gid-map, which must then map container id 0 to the
//     caller (as umoci requires).
func decideOwnership(opts *Options, info userns.Info) (*ownership, error) {
	own := &ownership{info: info, forced: opts.Rootless}
	own.rootless = opts.Rootless || info.Mode != userns.InitialRoot
	if !own.rootless {
		own.layerUIDs, own.layerGIDs = opts.UIDMap, opts.GIDMap
		own.specUIDs, own.specGIDs = opts.UIDMap, opts.GIDMap
		return own, nil
	}
	if info.Mode == userns.NamespaceRoot {
		nsUIDs, nsGIDs := identityOf(info.UIDMap), identityOf(info.GIDMap)
		own.layerUIDs, own.specUIDs = orDefault(opts.UIDMap, nsUIDs), orDefault(opts.UIDMap, nsUIDs)
		own.layerGIDs, own.specGIDs = orDefault(opts.GIDMap, nsGIDs), orDefault(opts.GIDMap, nsGIDs)
		return own, nil
	}
	self := func(id int) []layer.IDMap { return []layer.IDMap{{ContainerID: 0, HostID: uint32(id), Size: 1}} }
	own.layerUIDs, own.layerGIDs = self(info.UID), self(info.GID)
	own.specUIDs, own.specGIDs = orDefault(opts.UIDMap, own.layerUIDs), orDefault(opts.GIDMap, own.layerGIDs)
	for _, c := range []struct {
		kind string
		maps []layer.IDMap
		id   int
	}{{"uid", own.specUIDs, info.UID}, {"gid", own.specGIDs, info.GID}} {
		if host, ok := mapID(c.maps, 0); !ok || host != uint32(c.id) {
			return nil, fmt.Errorf("%w: a rootless unpack by %s %d needs --%s-map to map container id 0 to %d "+
				"(the files belong to the unpacking user, who is root in the container)", ErrInvalidOptions,
				c.kind, c.id, c.kind, c.id)
		}
	}
	return own, nil
}

// identityOf maps each id a user namespace has to itself: container id x
// is namespace id x.
func identityOf(ranges []procfs.IDRange) []layer.IDMap {
	out := make([]layer.IDMap, 0, len(ranges))
	for _, r := range ranges {
		out = append(out, layer.IDMap{ContainerID: r.ContainerID, HostID: r.ContainerID, Size: r.Size})
	}
	return out
}

func orDefault(maps, def []layer.IDMap) []layer.IDMap {
	if len(maps) > 0 {
		return maps
	}
	return def
}

// mapID maps a container id through maps.
func mapID(maps []layer.IDMap, id uint32) (uint32, bool) {
	for _, m := range maps {
		if id >= m.ContainerID && uint64(id) < uint64(m.ContainerID)+uint64(m.Size) {
			return m.HostID + (id - m.ContainerID), true
		}
	}
	return 0, false
}

// mapped reports whether every id is inside maps.
func mapped(maps []layer.IDMap, ids ...uint32) bool {
	for _, id := range ids {
		if _, ok := mapID(maps, id); !ok {
			return false
		}
	}
	return true
}

// chownRootfs gives a rootfs directory this package created the owner of
// container root, for a privileged unpack with --uid-map and --gid-map (the
// image's "./" entry, when it has one, applies its own): otherwise "/" in
// the container would belong to an unmapped id. umoci does the same. A
// rootless rootfs already belongs to the caller, container root.
func (own *ownership) chownRootfs(root *pathrs.Root) error {
	if own.rootless {
		return nil
	}
	uid, uok := mapID(own.layerUIDs, 0)
	gid, gok := mapID(own.layerGIDs, 0)
	if !uok && !gok {
		return nil
	}
	u, g := -1, -1
	if uok {
		u = int(uid)
	}
	if gok {
		g = int(gid)
	}
	d, err := root.Dir()
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Lchown("", u, g); err != nil {
		return fmt.Errorf("giving the rootfs to container root (%d:%d): %w", u, g, err)
	}
	return nil
}
