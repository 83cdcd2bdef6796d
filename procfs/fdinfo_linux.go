package procfs

import (
	"bytes"
	"errors"
	"runtime"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/safeunpack/safeunpack/internal/linux"
)

// maxFdinfoSize bounds how much of an fdinfo file is read. The lines we need
// (pos, flags, mnt_id, ino) come first and take under 100 bytes; some fds
// (epoll, inotify, fanotify) append one line per watched object, which we
// never need and must not read without limit.
const maxFdinfoSize = 4096

// fdinfoMountID returns the mount id of fd from the mnt_id line of
// thread-self/fdinfo/<fd> beneath procRoot, the fallback for kernels whose
// statx has no mount id (before 5.8), as libpathrs does (src/utils/fdinfo.rs).
// The fdinfo file is opened with RESOLVE_NO_XDEV where openat2 works, so it
// lies on procRoot's mount, and must be procfs. Its ino line must equal
// wantIno, so an fdinfo of some other fd cannot be passed off as fd's;
// kernels before 5.14 print no ino line and are trusted without it.
func fdinfoMountID(procRoot, fd int, wantIno uint64) (mountID, error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	ffd, err := openFdinfo(procRoot, fd)
	if err != nil {
		return mountID{}, err
	}
	defer unix.Close(ffd) //nolint:errcheck // read-only
	if err := isProcfs(ffd); err != nil {
		return mountID{}, err
	}
	buf := make([]byte, maxFdinfoSize)
	n, err := readFull(ffd, buf)
	if err != nil {
		return mountID{}, err
	}
	mnt, ino, haveIno, err := parseFdinfo(buf[:n])
	if err != nil {
		return mountID{}, err
	}
	if haveIno && ino != wantIno {
		return mountID{}, unsafef("fdinfo of fd %d names inode %d, fd has inode %d", fd, ino, wantIno)
	}
	if !haveIno && linux.KernelAtLeast(5, 14) {
		return mountID{}, unsafef("fdinfo of fd %d has no ino line (kernel 5.14 or newer prints one)", fd)
	}
	return mountID{mnt, srcFdinfo}, nil
}

// readFull reads from fd until buf is full or EOF.
func readFull(fd int, buf []byte) (int, error) {
	n := 0
	for n < len(buf) {
		m, err := linux.RetryEINTR2(func() (int, error) { return unix.Read(fd, buf[n:]) })
		if err != nil {
			return n, err
		}
		if m == 0 {
			break
		}
		n += m
	}
	return n, nil
}

// parseFdinfo extracts the mnt_id and ino lines. A missing or malformed
// mnt_id, a malformed ino, or a repeated key means the file is not what the
// kernel writes.
func parseFdinfo(data []byte) (mnt, ino uint64, haveIno bool, err error) {
	haveMnt := false
	for line := range bytes.SplitSeq(data, []byte{'\n'}) {
		key, val, ok := strings.Cut(string(line), ":")
		if !ok || (key != "mnt_id" && key != "ino") {
			continue
		}
		v, perr := strconv.ParseUint(strings.TrimSpace(val), 10, 64)
		if perr != nil {
			return 0, 0, false, unsafef("fdinfo %s line %q is not a number", key, val)
		}
		switch {
		case key == "mnt_id" && !haveMnt:
			mnt, haveMnt = v, true
		case key == "ino" && !haveIno:
			ino, haveIno = v, true
		default:
			return 0, 0, false, unsafef("fdinfo repeats its %s line", key)
		}
	}
	if !haveMnt {
		return 0, 0, false, unsafef("fdinfo has no mnt_id line")
	}
	return mnt, ino, haveIno, nil
}

// openFdinfo opens thread-self/fdinfo/<fd> beneath procRoot for reading.
// The caller holds the OS thread locked.
func openFdinfo(procRoot, fd int) (int, error) {
	rel := "thread-self/fdinfo/" + strconv.Itoa(fd)
	if openat2Enabled() {
		ffd, err := openat2Beneath(procRoot, rel, unix.O_RDONLY|unix.O_NOFOLLOW)
		if err == nil || openat2Usable() {
			return ffd, err
		}
	}
	return openFdinfoWalk(procRoot, fd)
}

// openFdinfoWalk is the best-effort walk used when neither openat2 nor a
// statx mount id exists (kernels 5.2 to 5.5): it cannot compare mount ids
// (that is what it is computing), so it requires every component to be
// procfs on the same superblock as procRoot and to be no symlink. A bind
// mount of another file of the same procfs instance is not detected; the ino
// cross-check in fdinfoMountID is the remaining defence.
func openFdinfoWalk(procRoot, fd int) (int, error) {
	var root unix.Stat_t
	if err := unix.Fstat(procRoot, &root); err != nil {
		return -1, err
	}
	dir, err := threadDirNoSymlinks(procRoot, root.Dev)
	if err != nil {
		return -1, err
	}
	parts := append(strings.Split(dir, "/"), "fdinfo", strconv.Itoa(fd))
	cur := procRoot
	defer func() {
		if cur != procRoot {
			_ = unix.Close(cur)
		}
	}()
	for i, part := range parts {
		flags := unix.O_PATH | unix.O_NOFOLLOW | unix.O_DIRECTORY
		if i == len(parts)-1 {
			flags = unix.O_RDONLY | unix.O_NOFOLLOW
		}
		next, err := linux.Openat(cur, part, flags, 0)
		if err != nil {
			return -1, err
		}
		if err := sameSuper(next, root.Dev); err != nil {
			_ = unix.Close(next)
			return -1, err
		}
		if cur != procRoot {
			_ = unix.Close(cur)
		}
		cur = next
	}
	out := cur
	cur = procRoot // Hand the fd to the caller instead of closing it.
	return out, nil
}

// threadDirNoSymlinks returns "<pid>/task/<tid>" for the calling thread as
// procRoot's pid namespace numbers it, from the thread-self link (Linux
// 3.17), else from the self link plus gettid(2).
func threadDirNoSymlinks(procRoot int, dev uint64) (string, error) {
	target, err := readlinkChecked(procRoot, "thread-self", dev)
	if err == nil {
		pid, tid, ok := strings.Cut(target, "/task/")
		if !ok || !isDecimal(pid) || !isDecimal(tid) {
			return "", unsafef("thread-self points to %q", target)
		}
		return target, nil
	}
	if !errors.Is(err, unix.ENOENT) {
		return "", err
	}
	pid, err := readlinkChecked(procRoot, "self", dev)
	if err != nil {
		return "", err
	}
	if !isDecimal(pid) {
		return "", unsafef("self points to %q", pid)
	}
	return pid + "/task/" + strconv.Itoa(unix.Gettid()), nil
}

// readlinkChecked reads the symlink name in dir after checking that it is
// procfs on superblock dev.
func readlinkChecked(dir int, name string, dev uint64) (string, error) {
	fd, err := linux.Openat(dir, name, unix.O_PATH|unix.O_NOFOLLOW, 0)
	if err != nil {
		return "", err
	}
	defer unix.Close(fd) //nolint:errcheck // O_PATH fd
	if err := sameSuper(fd, dev); err != nil {
		return "", err
	}
	return readlinkFd(fd)
}

// sameSuper checks that fd is procfs on the superblock dev.
func sameSuper(fd int, dev uint64) error {
	if err := isProcfs(fd); err != nil {
		return err
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return err
	}
	if st.Dev != dev {
		return unsafef("procfs component on device %#x, handle on %#x", st.Dev, dev)
	}
	return nil
}

// isDecimal reports whether s is a non-empty string of ASCII digits.
func isDecimal(s string) bool {
	if s == "" || len(s) > 10 {
		return false
	}
	for i := range len(s) {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
