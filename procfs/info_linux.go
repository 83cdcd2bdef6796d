package procfs

import "fmt"

// HandleInfo describes the handle package functions use, for logging.
type HandleInfo struct {
	// Rung is the ladder step the handle came from.
	Rung Rung
	// Detached reports a mount nobody can mount over.
	Detached bool
	// Subset reports a subset=pid instance.
	Subset bool
	// Cached reports that the handle is the process-wide cached one (else
	// every operation builds and closes its own).
	Cached bool
	// MountIDSource is where mount ids come from: "statx_mnt_id_unique"
	// (Linux 6.8), "statx_mnt_id" (5.8) or "fdinfo".
	MountIDSource string
	// Resolver is "openat2" (Linux 5.6) or "emulated".
	Resolver string
}

// String formats the information as key=value pairs.
func (i HandleInfo) String() string {
	return fmt.Sprintf("rung=%s detached=%t subset=%t cached=%t mount_id=%s resolver=%s",
		i.Rung, i.Detached, i.Subset, i.Cached, i.MountIDSource, i.Resolver)
}

// Info builds (or revalidates) the handle that package functions use and
// describes it, so that the CLI can log how well /proc is protected.
func Info() (HandleInfo, error) {
	h, err := defaultHandle()
	if err != nil {
		return HandleInfo{}, err
	}
	defer h.releaseTemp()
	cur, err := h.live(true)
	if err != nil {
		return HandleInfo{}, err
	}
	if cur != h {
		defer cur.releaseTemp()
	}
	resolver := "emulated"
	if openat2Enabled() && openat2Usable() {
		resolver = "openat2"
	}
	return HandleInfo{
		Rung:          cur.rung,
		Detached:      cur.detached,
		Subset:        cur.subset,
		Cached:        cur.shared,
		MountIDSource: cur.mnt.src.String(),
		Resolver:      resolver,
	}, nil
}
