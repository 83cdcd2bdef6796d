package pathrs

import (
	"errors"
	"strconv"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/safeunpack/safeunpack/internal/testutil"
)

// backend is one resolver configuration every resolution and operation test
// runs under.
type backend struct {
	name string
	opts RootOptions
}

var backends = []backend{
	{"openat2", RootOptions{Resolver: ResolverAuto}},
	{"emulated", RootOptions{Resolver: ResolverEmulated}},
}

// forEachBackend runs fn once per backend as a subtest. The openat2 run is
// skipped (with a reason) where openat2 is unusable.
func forEachBackend(t *testing.T, fn func(t *testing.T, b backend)) {
	t.Helper()
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			if b.opts.Resolver == ResolverAuto {
				testutil.RequireOpenat2(t)
			}
			fn(t, b)
		})
	}
}

// openTestRoot opens dir as a root with the backend's options.
func openTestRoot(t testing.TB, dir string, b backend) *Root {
	t.Helper()
	r, err := OpenRootWithOptions(dir, b.opts)
	if err != nil {
		t.Fatalf("OpenRoot(%q): %v", dir, err)
	}
	t.Cleanup(func() { _ = r.Close() })
	return r
}

// inodeOf returns (dev, ino) of path without following a final symlink.
func inodeOf(t testing.TB, path string) [2]uint64 {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Lstat(path, &st); err != nil {
		t.Fatalf("lstat %q: %v", path, err)
	}
	return [2]uint64{st.Dev, st.Ino}
}

func fdInode(t testing.TB, fd int) [2]uint64 {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		t.Fatalf("fstat %d: %v", fd, err)
	}
	return [2]uint64{st.Dev, st.Ino}
}

// errnoOf extracts the errno an error stands for, or 0.
func errnoOf(err error) unix.Errno {
	var errno unix.Errno
	if errors.As(err, &errno) {
		return errno
	}
	for _, e := range []unix.Errno{unix.EXDEV, unix.EINVAL, unix.EAGAIN} {
		if errors.Is(err, e) {
			return e
		}
	}
	return 0
}

// resolveTree is the shared fixture of the resolution tests, modelled on the
// cases libpathrs and filepath-securejoin document: relative, absolute,
// escaping, dangling and looping symlinks.
func resolveTree(t testing.TB) *testutil.Canary {
	t.Helper()
	c := testutil.NewCanary(t)
	testutil.MakeTree(t, c.Root,
		"dir a",
		"dir a/b",
		"dir a/b/c",
		"dir a/b/c/d",
		"file a/b/c/file 0644 in-root",
		"file target 0644 in-root-target",
		"dir etc",
		"file etc/passwd 0644 root-passwd",
		"symlink rel -> a/b",
		"symlink abs -> /a/b",
		"symlink dotdot -> ../../../../a",
		"symlink root-link -> /",
		"symlink root-link2 -> /..",
		"symlink root-link3 -> /../../../../..",
		"symlink escape1 -> ../../../../../../../../target",
		"symlink escape2 -> /../../../target",
		"symlink host-victim -> $T/victim/hello",
		"symlink dangling -> /nonexist/x",
		"symlink loop1 -> loop2",
		"symlink loop2 -> loop1",
		"symlink filelink -> a/b/c/file",
		"symlink self -> .",
		"symlink empty-dir-link -> a/",
		"symlink a/b/up -> ../..",
		"symlink a/b/c/passwd -> /etc/passwd",
		"symlink a/b/c/passwd-rel -> ../../../../../etc/passwd",
		"symlink trailing -> a/b/c/file/",
		"fifo fifo",
	)
	return c
}

// chainTree adds a chain of n symlinks l0 -> l1 -> ... -> l(n-1) -> target.
func chainTree(t testing.TB, root string, prefix string, n int, target string) {
	t.Helper()
	for i := range n {
		next := target
		if i+1 < n {
			next = prefix + itoa(i+1)
		}
		testutil.MakeTree(t, root, "symlink "+prefix+itoa(i)+" -> "+next)
	}
}

func itoa(i int) string { return strconv.Itoa(i) }
