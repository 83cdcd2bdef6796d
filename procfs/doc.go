// Package procfs is the only way safeunpack touches /proc. It reaches
// exactly the procfs file that was asked for, or fails with an error
// matching [ErrUnsafeProcfs] (and unix.EXDEV); it never silently reads or
// writes a file that was mounted over the one asked for.
//
// # Threat model
//
// The attacker can change what /proc looks like to this process: mount a
// tmpfs or bind-mount another file over any /proc file or directory (over
// attr/current, uid_map, status, fdinfo, cpuinfo, ...), or mount a fake
// /proc altogether. This is what a malicious image or a co-tenant with mount
// rights in our mount namespace can do, and what the runc CVEs were about:
// a tmpfs file over attr/current made an LSM label write a no-op
// (CVE-2019-16884), a fake /proc redirected a reopen (CVE-2019-19921), and
// /proc/self/sched bind-mounted over attr/current swallowed a label write
// (CVE-2025-52881). Reads are as sensitive as writes: a tmpfs uid_map
// reading "0 0 4294967295" makes a rootless process believe it is root.
// The attacker cannot run code in this process, ptrace it, or take its file
// descriptors; the kernel is trusted.
//
// # Design
//
// A [Handle] is an fd of a procfs root, built from the best rung of a ladder
// (see [Rung]): a private fsopen instance with subset=pid and
// hidepid=ptraceable mounted detached; a detached open_tree clone of /proc;
// a recursive clone; the host /proc. Every candidate is verified: fstatfs
// f_type is PROC_SUPER_MAGIC, the inode is 1 (the root of its instance), and
// its mount id is recorded (statx STATX_MNT_ID_UNIQUE, else STATX_MNT_ID,
// else the mnt_id line of fdinfo cross-checked against its ino line);
// candidates of the detached rungs must be detached. Without CAP_SYS_ADMIN
// in its user namespace a process cannot use fsopen or open_tree at all, so
// those rungs are skipped after one capget(2). One handle, of the
// private subset=pid kind only, is cached for the process and revalidated
// before use; a cached fd closed or reused behind our back is replaced, never
// closed and never a panic. Other kinds are built per operation and closed.
//
// Lookups use openat2(RESOLVE_BENEATH|RESOLVE_NO_XDEV|RESOLVE_NO_MAGICLINKS),
// or, where openat2 is unusable, an emulated walk that checks the filesystem
// type and mount id of every component, refuses "..", and refuses absolute
// and "type:[id]" symlink targets. The mount id of every fd a lookup returns
// must equal the handle's. The design follows libpathrs (cyphar/libpathrs:
// src/procfs.rs) and filepath-securejoin (cyphar/filepath-securejoin:
// pathrs-lite/internal/procfs/procfs_linux.go); no code is taken from them.
//
// # Guarantees
//
//   - A file returned by [Open] (and [Handle.Open]) is the procfs file at
//     that path inside the handle's instance and on the handle's mount;
//     nothing mounted over it or over a directory above it is ever returned.
//   - With a detached handle (the fsopen and open_tree rungs, used whenever
//     the process has CAP_SYS_ADMIN over the relevant namespace, including
//     root in a user namespace with its own mount namespace) overmounts in
//     the host /proc are not even visible: the real file is read. With the
//     recursive clone and the host /proc, overmounts are detected and the
//     operation fails with ErrUnsafeProcfs.
//   - [WriteAttr] writes to a file that is procfs, on the handle's mount, and
//     looks like an attr file, or writes nothing.
//   - [Reopen] returns a file of the same inode as the fd it was given.
//
// # Non-guarantees
//
//   - The emulated walk on [RungHostProc] is racy against a mount-capable
//     attacker between its checks and the final open (each step is checked,
//     so a race yields an error or the right file in practice, but the kernel
//     does not guarantee it); so is [Handle.OpenFollow] on RungHostProc
//     between its link check and the follow. Both are race-free on detached
//     handles, which nobody can mount into.
//   - [ProcPid] is racy by nature: pids are reused. It is safe for pid 1,
//     this process, its threads and unreaped children.
//   - The target of a magic link followed by OpenFollow, and a path returned
//     by [FdPath], describe files outside procfs; they are the kernel's view,
//     not checked.
//   - A process without CAP_SYS_ADMIN (rootless, unless root in its own user
//     and mount namespace) only gets the host /proc: overmounts are detected,
//     so a deliberately overmounted file cannot be read at all (lxcfs
//     overmounts of /proc/cpuinfo and /proc/meminfo make those [ProcRoot]
//     reads fail by design).
//   - On kernels before 5.8 without openat2, the fdinfo read that stands in
//     for statx mount ids cannot itself compare mount ids; it checks
//     filesystem type, device and the fdinfo ino line (best effort, as in
//     libpathrs). Legacy mount ids (before Linux 6.8) can in principle be
//     reused by a new mount after ours disappeared; revalidation then also
//     insists on procfs.
//
// # Kernel versions
//
// fsopen and open_tree need Linux 5.2 and are refused below it (the RHEL 8
// backports misbehave); subset=pid, hidepid=ptraceable and STATX_MNT_ID need
// 5.8; openat2 5.6 (else the emulated walk); fdinfo ino lines 5.14 (required
// from then on); STATX_MNT_ID_UNIQUE 6.8; /proc/thread-self 3.17 (else
// self/task/<tid>). Linux 6.12 refuses mounts on /proc/<pid>/fd/*,
// fdinfo/* and map_files/*. libpathrs recommends at least 5.6, and 6.8 for
// every protection.
//
// # Threads
//
// Files under [ProcThreadSelf] belong to one OS thread, so opening one locks
// the goroutine to its thread until [File.Close], which must run on the same
// goroutine. [FdPath], [Reopen] and [WriteAttr] lock the thread only while
// they run.
package procfs
