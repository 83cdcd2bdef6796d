package procfs

import (
	"errors"
	"os"
	"runtime"
	"strconv"

	"golang.org/x/sys/unix"

	"github.com/safeunpack/safeunpack/internal/linux"
)

// baseKind enumerates the bases; the zero value is invalid.
type baseKind uint8

const (
	baseInvalid baseKind = iota
	baseRoot
	baseSelf
	baseThreadSelf
	basePid
)

// Base selects the procfs directory a subpath is resolved in. A subpath can
// never leave its base: ".." and absolute subpaths are refused.
type Base struct {
	kind baseKind
	pid  int
}

var (
	// ProcRoot is /proc itself. On the cached subset=pid handle only the
	// pid directories, self and thread-self exist, so a ProcRoot lookup
	// that finds nothing is retried once on a temporary unmasked handle.
	ProcRoot = Base{kind: baseRoot}
	// ProcSelf is /proc/self, the thread-group leader of this process.
	ProcSelf = Base{kind: baseSelf}
	// ProcThreadSelf is /proc/thread-self, the calling OS thread. Opening
	// a file under it locks the goroutine to its OS thread
	// (runtime.LockOSThread) until the returned [File] is closed, since a
	// Go goroutine can otherwise move to another thread between the open
	// and the use and per-thread state (LSM labels, unshare(CLONE_FS)) would
	// be that of the wrong thread. Where thread-self does not exist (before
	// Linux 3.17) self/task/<tid> is used.
	ProcThreadSelf = Base{kind: baseThreadSelf}
)

// ProcPid is /proc/<pid>. Pids are reused: this is only safe for pid 1, the
// calling process, its own threads and unreaped children. Private instances
// are mounted hidepid=ptraceable, so a process this one may not ptrace is
// invisible through them (ENOENT). A pid below 1 gives a Base every
// operation refuses with EINVAL.
func ProcPid(pid int) Base {
	if pid <= 0 {
		return Base{}
	}
	return Base{kind: basePid, pid: pid}
}

// prefix returns the base's path relative to the procfs root.
func (b Base) prefix() string {
	switch b.kind {
	case baseRoot:
		return ""
	case baseSelf:
		return "self"
	case baseThreadSelf:
		return threadSelfDir()
	case basePid:
		return strconv.Itoa(b.pid)
	}
	return ""
}

// display returns "/proc/<base>/<subpath>" for error messages and file names.
func (b Base) display(subpath string) string {
	p := "/proc"
	switch b.kind {
	case baseInvalid:
		p = "/proc/<invalid base>"
	case baseThreadSelf:
		p = "/proc/thread-self"
	case baseRoot:
	default:
		p += "/" + b.prefix()
	}
	if subpath != "" {
		p += "/" + subpath
	}
	return p
}

// joinRel joins a base prefix and a subpath. An empty subpath names the
// base directory itself: "self/." makes the self and thread-self links
// intermediate components, which are followed, instead of final ones.
func joinRel(prefix, subpath string) string {
	switch {
	case prefix == "":
		return subpath
	case subpath == "":
		return prefix + "/."
	}
	return prefix + "/" + subpath
}

// threadSelfDir names the thread-self link; a test seam, so tests can make
// it look missing and exercise the fallback.
var threadSelfDir = func() string { return "thread-self" }

// inBase runs do with base's path joined to subpath, relative to the root of
// h. For ProcThreadSelf, if the lookup finds nothing and thread-self itself
// does not exist, it runs do again with self/task/<tid>. The caller holds
// the OS thread locked for ProcThreadSelf.
func (h *Handle) inBase(base Base, subpath string, do func(rel string) error) error {
	err := do(joinRel(base.prefix(), subpath))
	if err == nil || base.kind != baseThreadSelf || !errors.Is(err, unix.ENOENT) {
		return err
	}
	var st unix.Stat_t
	serr := linux.RetryEINTR(func() error {
		return unix.Fstatat(h.fd, threadSelfDir(), &st, unix.AT_SYMLINK_NOFOLLOW)
	})
	if !errors.Is(serr, unix.ENOENT) {
		return err
	}
	return do(joinRel("self/task/"+strconv.Itoa(unix.Gettid()), subpath))
}

// File is an open procfs file.
//
// For a file opened under [ProcThreadSelf], the goroutine stays locked to its
// OS thread until Close, which also runs runtime.UnlockOSThread: Close must
// therefore be called on the goroutine that opened the file, exactly once
// through this method (closing the embedded *os.File directly leaves the
// thread locked until the goroutine exits, when Go discards the thread).
type File struct {
	*os.File
	locked bool
}

// Close closes the file and, for a ProcThreadSelf file, unlocks the OS
// thread. It must be called on the goroutine that opened the file.
func (f *File) Close() error {
	if f == nil || f.File == nil {
		return os.ErrInvalid
	}
	err := f.File.Close()
	if f.locked {
		f.locked = false
		runtime.UnlockOSThread()
	}
	return err
}
