// Package userns tells how privileged this process is, for choosing between
// a privileged unpack (real owners, devices) and a rootless one (owners
// recorded in an xattr, devices as placeholders): root of the initial user
// namespace, root of a child user namespace, or an unprivileged user.
//
// The answer comes from /proc/self/uid_map and gid_map read through the
// verified procfs handle ([procfs.ReadIDMap]), never by path: a tmpfs or
// bind mount over /proc/self/uid_map claiming "0 0 4294967295" would
// otherwise make a rootless process believe it is root and attempt device
// nodes, trusted xattrs and chowns it cannot do (threats.md section 2).
// If the maps cannot be read safely, Detect fails with an error matching
// procfs.ErrUnsafeProcfs; it never guesses.
package userns
