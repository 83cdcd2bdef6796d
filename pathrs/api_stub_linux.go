package pathrs

// TEMPORARY: signatures of the pathrs API with stub bodies, so that other
// packages compile while pathrs is being implemented. Each function moves to
// its own file as it is implemented; this file then disappears.

import (
	"errors"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

var errTODO = errors.ErrUnsupported

// Resolver selects the path-resolution backend of a [Root].
type Resolver int

const (
	// ResolverAuto uses openat2(2) with RESOLVE_IN_ROOT where the kernel
	// offers it and seccomp allows it, and the emulated walker otherwise.
	ResolverAuto Resolver = iota
	// ResolverEmulated forces the userspace O_PATH walker. It exists for
	// tests and diagnostics; both backends give identical results.
	ResolverEmulated
)

// RootOptions configures a [Root]. The zero value is the production setting.
type RootOptions struct {
	// Resolver selects the backend; the zero value is ResolverAuto.
	Resolver Resolver
}

// Root is a directory that every operation stays inside.
type Root struct{}

// OpenRoot opens path as a root.
func OpenRoot(path string) (*Root, error) { return nil, errTODO }

// OpenRootWithOptions opens path as a root with options.
func OpenRootWithOptions(path string, opts RootOptions) (*Root, error) { return nil, errTODO }

// RootFromFile makes a root from an open directory.
func RootFromFile(f *os.File) (*Root, error) { return nil, errTODO }

// RootFromFileWithOptions makes a root from an open directory with options.
func RootFromFileWithOptions(f *os.File, opts RootOptions) (*Root, error) { return nil, errTODO }

// Close releases the root.
func (r *Root) Close() error { return errTODO }

// Resolve resolves unsafePath following a final symlink.
func (r *Root) Resolve(unsafePath string) (*Handle, error) { return nil, errTODO }

// ResolveNoFollow resolves unsafePath without following a final symlink.
func (r *Root) ResolveNoFollow(unsafePath string) (*Handle, error) { return nil, errTODO }

// Open opens unsafePath in the root.
func (r *Root) Open(unsafePath string, flags int) (*os.File, error) { return nil, errTODO }

// Dir returns a Dir for the root directory itself.
func (r *Root) Dir() (*Dir, error) { return nil, errTODO }

// OpenDir resolves unsafePath (following symlinks in the root) to a directory.
func (r *Root) OpenDir(unsafePath string) (*Dir, error) { return nil, errTODO }

// ResolveParent resolves the parent of unsafePath and returns it with the
// final component.
func (r *Root) ResolveParent(unsafePath string) (*Dir, string, error) { return nil, "", errTODO }

// MkdirAll creates unsafePath and missing parents.
func (r *Root) MkdirAll(unsafePath string, mode uint32) (*Dir, error) { return nil, errTODO }

// CreateFile creates a new regular file.
func (r *Root) CreateFile(unsafePath string, flags int, mode uint32) (*os.File, error) {
	return nil, errTODO
}

// Mkdir creates one directory.
func (r *Root) Mkdir(unsafePath string, mode uint32) error { return errTODO }

// Mknod creates a device node or FIFO.
func (r *Root) Mknod(unsafePath string, mode uint32, dev uint64) error { return errTODO }

// Symlink creates a symlink at unsafePath whose target is unsafeLinkname.
func (r *Root) Symlink(unsafeLinkname, unsafePath string) error { return errTODO }

// Hardlink creates unsafePath as a hard link to unsafeTarget.
func (r *Root) Hardlink(unsafePath, unsafeTarget string) error { return errTODO }

// Rename renames with renameat2 flags.
func (r *Root) Rename(unsafeOld, unsafeNew string, flags uint) error { return errTODO }

// Remove removes a file or an empty directory.
func (r *Root) Remove(unsafePath string) error { return errTODO }

// RemoveAll removes a tree.
func (r *Root) RemoveAll(unsafePath string) error { return errTODO }

// Readlink reads a symlink.
func (r *Root) Readlink(unsafePath string) (string, error) { return "", errTODO }

// Lstat stats without following a final symlink.
func (r *Root) Lstat(unsafePath string) (unix.Stat_t, error) { return unix.Stat_t{}, errTODO }

// Lchown changes owners without following a final symlink.
func (r *Root) Lchown(unsafePath string, uid, gid int) error { return errTODO }

// Chmod changes the mode; no-op on symlinks.
func (r *Root) Chmod(unsafePath string, mode uint32) error { return errTODO }

// Utimes sets times without following a final symlink.
func (r *Root) Utimes(unsafePath string, atime, mtime time.Time) error { return errTODO }

// Lsetxattr sets an xattr without following a final symlink.
func (r *Root) Lsetxattr(unsafePath, attr string, value []byte, flags int) error { return errTODO }

// Lgetxattr reads an xattr without following a final symlink.
func (r *Root) Lgetxattr(unsafePath, attr string) ([]byte, error) { return nil, errTODO }

// Llistxattr lists xattrs without following a final symlink.
func (r *Root) Llistxattr(unsafePath string) ([]string, error) { return nil, errTODO }

// Lremovexattr removes an xattr without following a final symlink.
func (r *Root) Lremovexattr(unsafePath, attr string) error { return errTODO }

// Handle is an O_PATH handle to an inode inside a root.
type Handle struct{}

// Close closes the handle.
func (h *Handle) Close() error { return errTODO }

// Name is the path the handle was resolved from (for messages only).
func (h *Handle) Name() string { return "" }

// Reopen upgrades the handle.
func (h *Handle) Reopen(flags int) (*os.File, error) { return nil, errTODO }

// Stat is fstat(2) of the handle.
func (h *Handle) Stat() (unix.Stat_t, error) { return unix.Stat_t{}, errTODO }

// Lchown changes the owner of the handle's inode.
func (h *Handle) Lchown(uid, gid int) error { return errTODO }

// Chmod changes the mode; no-op on symlinks.
func (h *Handle) Chmod(mode uint32) error { return errTODO }

// Utimes sets times, also on symlinks.
func (h *Handle) Utimes(atime, mtime time.Time) error { return errTODO }

// Lsetxattr sets an xattr on the handle's inode.
func (h *Handle) Lsetxattr(attr string, value []byte, flags int) error { return errTODO }

// Lgetxattr reads an xattr.
func (h *Handle) Lgetxattr(attr string) ([]byte, error) { return nil, errTODO }

// Llistxattr lists xattrs.
func (h *Handle) Llistxattr() ([]string, error) { return nil, errTODO }

// Lremovexattr removes an xattr.
func (h *Handle) Lremovexattr(attr string) error { return errTODO }

// Dir is a directory inside a root, for single-component operations.
type Dir struct{}

// Close closes the directory handle.
func (d *Dir) Close() error { return errTODO }

// Name is the path the Dir was resolved from (for messages only).
func (d *Dir) Name() string { return "" }

// Stat is fstat(2) of the directory.
func (d *Dir) Stat() (unix.Stat_t, error) { return unix.Stat_t{}, errTODO }

// Lstat stats name without following it.
func (d *Dir) Lstat(name string) (unix.Stat_t, error) { return unix.Stat_t{}, errTODO }

// OpenDir opens the child directory name without following a symlink.
func (d *Dir) OpenDir(name string) (*Dir, error) { return nil, errTODO }

// Open opens the child name with O_NOFOLLOW.
func (d *Dir) Open(name string, flags int) (*os.File, error) { return nil, errTODO }

// CreateFile creates a new regular file name.
func (d *Dir) CreateFile(name string, flags int, mode uint32) (*os.File, error) { return nil, errTODO }

// Mkdir creates the directory name.
func (d *Dir) Mkdir(name string, mode uint32) error { return errTODO }

// Mknod creates a device or FIFO.
func (d *Dir) Mknod(name string, mode uint32, dev uint64) error { return errTODO }

// Symlink creates name -> unsafeLinkname.
func (d *Dir) Symlink(unsafeLinkname, name string) error { return errTODO }

// Hardlink creates name as a link to unsafeTarget, resolved in the same root.
func (d *Dir) Hardlink(name, unsafeTarget string) error { return errTODO }

// Rename renames name to newName in newDir.
func (d *Dir) Rename(name string, newDir *Dir, newName string, flags uint) error { return errTODO }

// Remove unlinks name or removes it if it is an empty directory.
func (d *Dir) Remove(name string) error { return errTODO }

// RemoveAll removes name recursively.
func (d *Dir) RemoveAll(name string) error { return errTODO }

// Readlink reads the symlink name.
func (d *Dir) Readlink(name string) (string, error) { return "", errTODO }

// ReadDirNames lists the directory.
func (d *Dir) ReadDirNames(limit int) ([]string, error) { return nil, errTODO }

// IsEmpty reports whether the directory has no entries.
func (d *Dir) IsEmpty() (bool, error) { return false, errTODO }

// Lchown changes owners of name ("" = the directory itself).
func (d *Dir) Lchown(name string, uid, gid int) error { return errTODO }

// Chmod changes the mode of name ("" = the directory itself).
func (d *Dir) Chmod(name string, mode uint32) error { return errTODO }

// Utimes sets times of name ("" = the directory itself).
func (d *Dir) Utimes(name string, atime, mtime time.Time) error { return errTODO }

// Lsetxattr sets an xattr on name ("" = the directory itself).
func (d *Dir) Lsetxattr(name, attr string, value []byte, flags int) error { return errTODO }

// Lgetxattr reads an xattr of name.
func (d *Dir) Lgetxattr(name, attr string) ([]byte, error) { return nil, errTODO }

// Llistxattr lists xattrs of name.
func (d *Dir) Llistxattr(name string) ([]string, error) { return nil, errTODO }

// Lremovexattr removes an xattr of name.
func (d *Dir) Lremovexattr(name, attr string) error { return errTODO }
