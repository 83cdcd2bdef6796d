package layer

import (
	"errors"
	"fmt"
	"strings"

	"golang.org/x/sys/unix"
)

// Warning kinds about xattrs, each reported once per layer.
const (
	warnXattrUnsupported = "xattrs not supported by the filesystem, dropped"
	warnXattrRefused     = "xattr refused by the kernel for this file type, dropped"
	warnXattrPermission  = "xattr needs privilege, dropped (rootless)"
)

// applyXattrs sets the entry's xattrs (already filtered by droppedXattr).
// A filesystem without xattr support (ENOTSUP) and the kernel's refusal of
// user.* on symlinks and special files (EPERM) are warnings, not errors:
// the data is still right. With merged, xattrs the directory already has
// and the entry does not are removed, except those the policy never
// touches (so a host's SELinux label survives).
func (a *applier) applyXattrs(t target, e *entry, merged bool) error {
	if len(e.dropped) > 0 {
		a.warn.debugOnce("xattrs dropped by policy (security.selinux, system.nfs4_acl, overlay markers)",
			e.hdr.Name, strings.Join(e.dropped, ", "))
	}
	if merged {
		if err := a.clearStaleXattrs(t, e); err != nil {
			return err
		}
	}
	for _, x := range e.xattrs {
		if a.rl != nil && x.name == RootlessXattr {
			// The owner a rootless Apply records comes from the header;
			// a layer's own record would contradict it.
			a.warn.debugOnce("a rootless unpack ignores "+RootlessXattr+" xattrs in layers", e.hdr.Name, "")
			continue
		}
		err := t.setxattr(x.name, x.value)
		switch {
		case err == nil:
		case errors.Is(err, unix.ENOTSUP) || errors.Is(err, unix.EOPNOTSUPP):
			a.warn.add(warnXattrUnsupported, e.hdr.Name, x.name)
		case errors.Is(err, unix.EPERM) && strings.HasPrefix(x.name, "user.") && t.kind != kindFile && t.kind != kindDir:
			a.warn.add(warnXattrRefused, e.hdr.Name, fmt.Sprintf("%s on a %s", x.name, t.kind))
		case (errors.Is(err, unix.EPERM) || errors.Is(err, unix.EACCES)) && a.cfg.rootless:
			a.warn.add(warnXattrPermission, e.hdr.Name, x.name)
		default:
			return fmt.Errorf("set xattr %q: %w", x.name, err)
		}
	}
	return nil
}

// clearStaleXattrs removes xattrs of an existing directory that the new
// entry does not carry (umoci does the same; containerd leaves them).
func (a *applier) clearStaleXattrs(t target, e *entry) error {
	names, err := t.dir.Llistxattr(t.name)
	if err != nil {
		if errors.Is(err, unix.ENOTSUP) || errors.Is(err, unix.EOPNOTSUPP) {
			return nil
		}
		return fmt.Errorf("list xattrs: %w", err)
	}
	for _, n := range names {
		if droppedXattr(n) || hasXattr(e.xattrs, n) || (a.rl != nil && n == RootlessXattr) {
			continue
		}
		err := t.dir.Lremovexattr(t.name, n)
		switch {
		case err == nil, errors.Is(err, unix.ENODATA):
		case (errors.Is(err, unix.EPERM) || errors.Is(err, unix.EACCES)) && a.cfg.rootless:
			a.warn.add(warnXattrPermission, e.hdr.Name, n)
		default:
			return fmt.Errorf("remove stale xattr %q: %w", n, err)
		}
	}
	return nil
}

func hasXattr(xs []xattr, name string) bool {
	for _, x := range xs {
		if x.name == name {
			return true
		}
	}
	return false
}
