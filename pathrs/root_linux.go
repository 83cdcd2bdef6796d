package pathrs

import (
	"errors"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"

	"github.com/safeunpack/safeunpack/internal/linux"
)

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

// String names the resolver for logs.
func (r Resolver) String() string {
	switch r {
	case ResolverAuto:
		return "auto"
	case ResolverEmulated:
		return "emulated"
	}
	return "unknown"
}

// RootOptions configures a [Root]. The zero value is the production setting.
type RootOptions struct {
	// Resolver selects the backend; the zero value is ResolverAuto.
	Resolver Resolver
}

// Root is a directory that every operation stays inside. It holds an
// O_PATH|O_DIRECTORY file descriptor opened once; the root's path is never
// looked up again, so replacing or renaming the path after OpenRoot does not
// redirect later operations (CVE-2021-29136 was an unpacker re-resolving a
// root that had become a symlink).
//
// A Root is safe for concurrent use. Close may be called many times; after
// it, operations fail with EBADF.
type Root struct {
	fd       *fdRef
	name     string
	resolver Resolver
}

// OpenRoot opens the directory path as a root. The final component of path
// must not be a symlink (O_NOFOLLOW): a root is chosen by its caller, and a
// symlink there is more likely an attack than intent.
//
// The returned error is an *os.PathError.
func OpenRoot(path string) (*Root, error) {
	return OpenRootWithOptions(path, RootOptions{})
}

// OpenRootWithOptions is [OpenRoot] with options.
func OpenRootWithOptions(path string, opts RootOptions) (*Root, error) {
	if err := opts.validate(); err != nil {
		return nil, &os.PathError{Op: "open root", Path: path, Err: err}
	}
	fd, err := linux.Openat(unix.AT_FDCWD, path, unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open root", Path: path, Err: err}
	}
	return &Root{fd: newFdRef(fd), name: filepath.Clean(path), resolver: opts.Resolver}, nil
}

// RootFromFile makes a root from an open directory. The descriptor is
// duplicated; the caller keeps ownership of f.
func RootFromFile(f *os.File) (*Root, error) {
	return RootFromFileWithOptions(f, RootOptions{})
}

// RootFromFileWithOptions is [RootFromFile] with options.
func RootFromFileWithOptions(f *os.File, opts RootOptions) (*Root, error) {
	if err := opts.validate(); err != nil {
		return nil, &os.PathError{Op: "open root", Path: f.Name(), Err: err}
	}
	conn, err := f.SyscallConn()
	if err != nil {
		return nil, &os.PathError{Op: "open root", Path: f.Name(), Err: err}
	}
	var (
		fd     int
		dupErr error
	)
	if err := conn.Control(func(raw uintptr) {
		// Re-open through "." so that the root is an O_PATH descriptor of
		// its own, whatever mode f was opened with.
		fd, dupErr = linux.Openat(int(raw), ".", unix.O_PATH|unix.O_DIRECTORY, 0)
	}); err != nil {
		return nil, &os.PathError{Op: "open root", Path: f.Name(), Err: err}
	}
	if dupErr != nil {
		return nil, &os.PathError{Op: "open root", Path: f.Name(), Err: dupErr}
	}
	return &Root{fd: newFdRef(fd), name: f.Name(), resolver: opts.Resolver}, nil
}

func (o RootOptions) validate() error {
	switch o.Resolver {
	case ResolverAuto, ResolverEmulated:
		return nil
	}
	return errors.New("pathrs: unknown resolver")
}

// Name returns the path the root was opened with, for messages only.
func (r *Root) Name() string { return r.name }

// Close releases the root. It may be called many times and concurrently with
// other operations, which then fail with EBADF.
func (r *Root) Close() error { return r.fd.close() }

// Dir returns a [Dir] for the root directory itself. It holds its own
// descriptor; close it independently of the root.
func (r *Root) Dir() (*Dir, error) {
	fd, err := useFd(r.fd, func(rootfd int) (int, error) {
		return linux.Openat(rootfd, ".", unix.O_PATH|unix.O_DIRECTORY, 0)
	})
	if err != nil {
		return nil, &os.PathError{Op: "openat", Path: "/", Err: err}
	}
	return newDir(r, fd, "/"), nil
}
