package procfs

// TEMPORARY: the procfs API contract with stub bodies so that pathrs and the
// rest compile while procfs is implemented. Replace with the real files.

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

var errTODO = errors.ErrUnsupported

// ErrUnsafeProcfs means a procfs handle or a file reached through it is not
// the genuine, un-overmounted procfs file that was asked for. It matches
// errors.Is(err, unix.EXDEV).
var ErrUnsafeProcfs error = errors.New("procfs: unsafe procfs")

var _ = unix.EXDEV

// Rung says which step of the handle ladder a [Handle] came from.
type Rung int

const (
	// RungFsopen is a private fsopen("proc") instance with subset=pid and
	// hidepid=ptraceable, mounted detached with fsmount.
	RungFsopen Rung = iota + 1
	// RungOpenTree is open_tree("/proc", OPEN_TREE_CLONE).
	RungOpenTree
	// RungOpenTreeRecursive is open_tree("/proc", OPEN_TREE_CLONE|AT_RECURSIVE).
	RungOpenTreeRecursive
	// RungHostProc is the host's /proc opened O_PATH.
	RungHostProc
)

// Handle is a verified handle to a procfs root.
type Handle struct{}

// Base selects where a subpath is resolved.
type Base struct{}

var (
	// ProcRoot is /proc itself.
	ProcRoot Base
	// ProcSelf is /proc/self.
	ProcSelf Base
	// ProcThreadSelf is /proc/thread-self, with the OS thread locked until
	// the returned File is closed.
	ProcThreadSelf Base
)

// ProcPid is /proc/<pid>.
func ProcPid(pid int) Base { return Base{} }

// File is an open procfs file. For ProcThreadSelf bases, Close also unlocks
// the OS thread locked by the open.
type File struct{ *os.File }

// IDRange is one line of a uid_map or gid_map.
type IDRange struct {
	ContainerID uint32
	HostID      uint32
	Size        uint32
}

// OpenHandle returns the best verified handle.
func OpenHandle() (*Handle, error) { return nil, errTODO }

// Open opens base/subpath without following the final component.
func Open(base Base, subpath string, flags int) (*File, error) { return nil, errTODO }

// OpenFollow opens base/subpath following a final magic link.
func OpenFollow(base Base, subpath string, flags int) (*File, error) { return nil, errTODO }

// Readlink reads base/subpath.
func Readlink(base Base, subpath string) (string, error) { return "", errTODO }

// FdPath returns the path of fd as verified readlink of thread-self/fd/N.
func FdPath(fd int) (string, error) { return "", errTODO }

// Reopen upgrades fd (typically O_PATH) to a new open file with flags.
func Reopen(fd int, flags int) (*os.File, error) { return nil, errTODO }

// ReadIDMap reads and validates /proc/<pid>/{uid_map,gid_map}; pid 0 is self.
func ReadIDMap(pid int, which string) ([]IDRange, error) { return nil, errTODO }

// WriteAttr writes value to thread-self/attr/<name>.
func WriteAttr(name, value string) error { return errTODO }
