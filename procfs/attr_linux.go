package procfs

import (
	"io"
	"os"
	"runtime"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/safeunpack/safeunpack/internal/linux"
)

// attrNames are the writable files of /proc/<tid>/attr (and of its per-LSM
// subdirectories such as attr/apparmor/), mode 0666 in fs/proc/base.c.
var attrNames = [...]string{"current", "exec", "fscreate", "keycreate", "sockcreate"}

// maxAttrSize is the most a single write to an attr file takes: the kernel
// silently truncates writes longer than a page, so longer values are
// refused rather than cut. 4096 is the smallest page size Linux supports.
const maxAttrSize = 4096

// WriteAttr writes value, in a single write(2), to thread-self/attr/<name>:
// the LSM attribute (SELinux or AppArmor label, ...) of the calling OS
// thread. name is one of current, exec, fscreate, keycreate or sockcreate,
// optionally under an LSM directory ("apparmor/exec").
//
// Effectively it is os.WriteFile("/proc/thread-self/attr/"+name, value, 0),
// but the naive write follows whatever is mounted over the path: a tmpfs
// file (CVE-2019-16884) or /proc/self/sched (CVE-2025-52881, writes to it
// succeed and do nothing), and the label silently never applies. Here the
// file is opened through the verified handle and, before writing, must be
// procfs, lie on the handle's mount and look like an attr file (a regular
// file of mode 0666 with one link), else the error matches
// [ErrUnsafeProcfs].
//
// The attribute belongs to the OS thread: a caller that needs it to apply to
// a later action (an exec, a file creation) must hold runtime.LockOSThread
// from before WriteAttr until that action. Errors are *os.PathError.
func WriteAttr(name, value string) error {
	path := "/proc/thread-self/attr/" + name
	if err := checkAttr(name, value); err != nil {
		return &os.PathError{Op: "write", Path: path, Err: err}
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	h, err := defaultHandle()
	if err != nil {
		return &os.PathError{Op: "write", Path: path, Err: err}
	}
	defer h.releaseTemp()
	if err := h.writeAttr(name, value); err != nil {
		return &os.PathError{Op: "write", Path: path, Err: err}
	}
	return nil
}

// checkAttr validates an attr name and value.
func checkAttr(name, value string) error {
	if len(value) > maxAttrSize {
		return unix.EINVAL
	}
	dir, file, ok := strings.Cut(name, "/")
	if !ok {
		dir, file = "", name
	} else if dir == "" || strings.Trim(dir, "abcdefghijklmnopqrstuvwxyz") != "" {
		return unix.EINVAL
	}
	for _, n := range attrNames {
		if file == n {
			return nil
		}
	}
	return unix.EINVAL
}

// writeAttr writes value to attr/<name> of the calling thread through h; the
// caller holds the OS thread locked.
func (h *Handle) writeAttr(name, value string) error {
	return h.run(ProcThreadSelf, true, func(cur *Handle) error {
		return cur.inBase(ProcThreadSelf, "attr/"+name, func(rel string) error {
			fd, err := cur.lookup(rel, unix.O_WRONLY|unix.O_CLOEXEC, false)
			if err != nil {
				return err
			}
			defer unix.Close(fd) //nolint:errcheck // the write result is what counts
			if err := cur.checkAttrFd(fd, name); err != nil {
				return err
			}
			n, err := linux.RetryEINTR2(func() (int, error) { return unix.Write(fd, []byte(value)) })
			if err != nil {
				return err
			}
			if n != len(value) {
				return io.ErrShortWrite
			}
			return nil
		})
	})
}

// checkAttrFd checks, again and right before the write, that fd is the attr
// file name on h's mount: procfs, on h's mount, a regular file of mode 0666
// with one link, and named .../<pid>/task/<tid>/attr/<name> for the calling
// thread by the kernel (readlink of its fd/N link, which catches another
// 0666 file such as timerslack_ns, or another thread's attr file, even on
// the same mount). The caller holds the OS thread locked.
func (h *Handle) checkAttrFd(fd int, name string) error {
	if err := isProcfs(fd); err != nil {
		return err
	}
	if err := h.checkFd(fd); err != nil {
		return err
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return err
	}
	if st.Mode != unix.S_IFREG|0o666 || st.Nlink != 1 {
		return unsafef("attr file has mode %#o and %d links, want a regular file of mode 0666 with 1 link", st.Mode, st.Nlink)
	}
	var target string
	err := h.inBase(ProcThreadSelf, "fd/"+strconv.Itoa(fd), func(rel string) error {
		lfd, err := h.lookup(rel, unix.O_PATH, false)
		if err != nil {
			return err
		}
		defer unix.Close(lfd) //nolint:errcheck // O_PATH fd
		target, err = readlinkFd(lfd)
		return err
	})
	if err != nil {
		return err
	}
	var root unix.Stat_t
	if err := unix.Fstat(h.fd, &root); err != nil {
		return err
	}
	dir, err := threadDirNoSymlinks(h.fd, root.Dev)
	if err != nil {
		return err
	}
	if want := "/" + dir + "/attr/" + name; !strings.HasSuffix(target, want) {
		return unsafef("attr file is %q, want .../%s", target, want)
	}
	return nil
}
