package procfs

import "strconv"

// Rung says which step of the handle ladder a [Handle] came from, best
// first. Only [RungFsopen] with subset=pid is ever cached.
type Rung int

const (
	// RungFsopen is a private procfs instance made with fsopen("proc")
	// (hidepid=ptraceable and, unless unmasked, subset=pid) and mounted
	// detached with fsmount(MOUNT_ATTR_NODEV|MOUNT_ATTR_NOEXEC|
	// MOUNT_ATTR_NOSUID). Nothing is mounted inside it and nobody else can
	// mount into it. Needs CAP_SYS_ADMIN over the pid namespace.
	RungFsopen Rung = iota + 1
	// RungOpenTree is open_tree("/proc", OPEN_TREE_CLONE): a detached
	// clone of the /proc mount alone, without anything mounted below or on
	// top of files inside it. Needs CAP_SYS_ADMIN over the mount namespace;
	// refused (EINVAL) when /proc has locked submounts.
	RungOpenTree
	// RungOpenTreeRecursive is open_tree("/proc",
	// OPEN_TREE_CLONE|AT_RECURSIVE): a detached clone that keeps every
	// submount, overmounts included, but frozen: no new mount can appear in
	// it. Lookups through it still refuse to cross those submounts.
	RungOpenTreeRecursive
	// RungHostProc is the /proc of the calling thread's mount namespace,
	// opened O_PATH|O_DIRECTORY|O_NOFOLLOW. Anyone able to mount in that
	// namespace can mount over files in it at any time; lookups detect
	// such mounts (RESOLVE_NO_XDEV and mount-id checks) but cannot see
	// through them.
	RungHostProc
)

// ladder is the order in which handles are tried.
var ladder = [...]Rung{RungFsopen, RungOpenTree, RungOpenTreeRecursive, RungHostProc}

// String returns the rung's name as the CLI logs it.
func (r Rung) String() string {
	switch r {
	case RungFsopen:
		return "fsopen"
	case RungOpenTree:
		return "open_tree"
	case RungOpenTreeRecursive:
		return "open_tree_recursive"
	case RungHostProc:
		return "host_proc"
	}
	return "Rung(" + strconv.Itoa(int(r)) + ")"
}

// detachedKind reports whether the rung yields a mount that is not attached
// to any mount namespace.
func (r Rung) detachedKind() bool {
	return r == RungFsopen || r == RungOpenTree || r == RungOpenTreeRecursive
}
