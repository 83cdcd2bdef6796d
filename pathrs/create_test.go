package pathrs

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/safeunpack/safeunpack/internal/testutil"
)

// opCase is one row of the operation tables: an untrusted path, the error
// expected (nil for success) and, on success, where the new entry must be.
type opCase struct {
	path    string // untrusted input
	wantErr error  // sentinel or errno; nil = success
	wantAt  string // on success: where the entry lands, relative to the root
}

// createCases is shared by every creating operation: trailing slashes, the
// root itself, "." and "..", existing targets, symlinked parents.
var createCases = []opCase{
	{path: "new", wantAt: "new"},
	{path: "/new", wantAt: "new"},
	{path: "a/b/new", wantAt: "a/b/new"},
	{path: "../../new", wantAt: "new"},
	{path: "abs/new", wantAt: "a/b/new"},
	{path: "rel/new", wantAt: "a/b/new"},
	{path: "dotdot/new", wantAt: "a/new"},
	{path: "root-link3/new", wantAt: "new"},
	{path: "a/b/c/passwd/../new", wantErr: unix.ENOTDIR},
	{path: "", wantErr: ErrRootIsNotAllowed},
	{path: "/", wantErr: ErrRootIsNotAllowed},
	{path: ".", wantErr: ErrInvalidName},
	{path: "a/..", wantErr: ErrInvalidName},
	{path: "a/.", wantErr: ErrInvalidName},
	{path: "target", wantErr: unix.EEXIST},
	{path: "a", wantErr: unix.EEXIST},
	{path: "rel", wantErr: unix.EEXIST},
	{path: "dangling", wantErr: unix.EEXIST},
	{path: "host-victim", wantErr: unix.EEXIST},
	{path: "missing/new", wantErr: unix.ENOENT},
	{path: "dangling/new", wantErr: unix.ENOENT},
	{path: "target/new", wantErr: unix.ENOTDIR},
	{path: "new\x00x", wantErr: unix.EINVAL},
}

// runCreateCases applies create to every case on both backends and checks
// the result and the canary.
func runCreateCases(t *testing.T, create func(r *Root, path string) error, trailingSlashOK bool) {
	t.Helper()
	cases := append([]opCase(nil), createCases...)
	if trailingSlashOK {
		cases = append(cases, opCase{path: "new/", wantAt: "new"})
	} else {
		cases = append(cases, opCase{path: "new/", wantErr: unix.EINVAL})
	}
	forEachBackend(t, func(t *testing.T, b backend) {
		for _, tc := range cases {
			t.Run(tc.path, func(t *testing.T) {
				c := resolveTree(t)
				r := openTestRoot(t, c.Root, b)
				err := create(r, tc.path)
				if tc.wantErr != nil {
					if !errors.Is(err, tc.wantErr) {
						t.Fatalf("create(%q): got err %v, want %v", tc.path, err, tc.wantErr)
					}
				} else {
					if err != nil {
						t.Fatalf("create(%q): %v", tc.path, err)
					}
					if _, err := os.Lstat(filepath.Join(c.Root, tc.wantAt)); err != nil {
						t.Fatalf("create(%q): expected entry at %q: %v", tc.path, tc.wantAt, err)
					}
				}
				c.Check(t)
			})
		}
	})
}

func TestCreateFile(t *testing.T) {
	runCreateCases(t, func(r *Root, p string) error {
		f, err := r.CreateFile(p, unix.O_WRONLY, 0o644)
		if err != nil {
			return err
		}
		defer f.Close()
		_, err = f.WriteString("data")
		return err
	}, false)
}

func TestMkdir(t *testing.T) {
	runCreateCases(t, func(r *Root, p string) error { return r.Mkdir(p, 0o755) }, true)
}

func TestMknodFifo(t *testing.T) {
	runCreateCases(t, func(r *Root, p string) error { return r.Mknod(p, unix.S_IFIFO|0o644, 0) }, false)
}

func TestSymlinkCreate(t *testing.T) {
	runCreateCases(t, func(r *Root, p string) error { return r.Symlink("/etc/passwd", p) }, false)
}

func TestHardlinkCreate(t *testing.T) {
	runCreateCases(t, func(r *Root, p string) error { return r.Hardlink(p, "target") }, false)
}

func TestCreateFileModes(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		c := resolveTree(t)
		r := openTestRoot(t, c.Root, b)
		if _, err := r.CreateFile("x", unix.O_WRONLY, unix.S_IFREG|0o644); !errors.Is(err, ErrInvalidMode) {
			t.Fatalf("CreateFile(S_IFREG mode): got %v, want ErrInvalidMode", err)
		}
		if _, err := r.CreateFile("x", unix.O_WRONLY|unix.O_DIRECTORY, 0o644); !errors.Is(err, unix.EINVAL) {
			t.Fatalf("CreateFile(O_DIRECTORY): got %v, want EINVAL", err)
		}
		f, err := r.CreateFile("suid", unix.O_WRONLY, 0o4755)
		if err != nil {
			t.Fatalf("CreateFile(04755): %v", err)
		}
		f.Close()
		if err := r.Mknod("reg", unix.S_IFREG|0o644, 0); !errors.Is(err, ErrInvalidMode) {
			t.Fatalf("Mknod(S_IFREG): got %v, want ErrInvalidMode", err)
		}
		if err := r.Mkdir("d", 0o10755); !errors.Is(err, ErrInvalidMode) {
			t.Fatalf("Mkdir(bad mode): got %v, want ErrInvalidMode", err)
		}
	})
}

// TestCreateFileNeverOpensExisting: an existing FIFO, device, symlink or
// file is never opened, truncated or written through (T14, T21).
func TestCreateFileNeverOpensExisting(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		c := resolveTree(t)
		r := openTestRoot(t, c.Root, b)
		for _, name := range []string{"fifo", "host-victim", "target", "a/b/c/passwd"} {
			_, err := r.CreateFile(name, unix.O_WRONLY|unix.O_TRUNC, 0o644)
			if !errors.Is(err, unix.EEXIST) {
				t.Errorf("CreateFile(%q): got %v, want EEXIST", name, err)
			}
		}
		data, err := os.ReadFile(filepath.Join(c.Root, "target"))
		if err != nil || string(data) != "in-root-target" {
			t.Fatalf("target changed: %q, %v", data, err)
		}
		c.Check(t)
	})
}

func TestMknodDevice(t *testing.T) {
	testutil.RequireMknod(t)
	forEachBackend(t, func(t *testing.T, b backend) {
		c := resolveTree(t)
		r := openTestRoot(t, c.Root, b)
		if err := r.Mknod("abs/null", unix.S_IFCHR|0o666, unix.Mkdev(1, 3)); err != nil {
			t.Fatal(err)
		}
		var st unix.Stat_t
		if err := unix.Lstat(filepath.Join(c.Root, "a/b/null"), &st); err != nil {
			t.Fatal(err)
		}
		if st.Mode&unix.S_IFMT != unix.S_IFCHR || st.Rdev != unix.Mkdev(1, 3) {
			t.Fatalf("Mknod: got mode %o rdev %d", st.Mode, st.Rdev)
		}
		c.Check(t)
	})
}

func TestSymlinkVerbatim(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		c := resolveTree(t)
		r := openTestRoot(t, c.Root, b)
		for _, target := range []string{"/etc/shadow", "../../../../x", "a//b/", c.Hello} {
			if err := r.Symlink(target, "l"); err != nil {
				t.Fatal(err)
			}
			got, err := r.Readlink("l")
			if err != nil || got != target {
				t.Fatalf("Readlink: got %q, %v, want %q", got, err, target)
			}
			if err := r.Remove("l"); err != nil {
				t.Fatal(err)
			}
		}
		if err := r.Symlink("a\x00b", "l"); !errors.Is(err, unix.EINVAL) {
			t.Fatalf("Symlink(NUL target): got %v, want EINVAL", err)
		}
		if _, err := r.Readlink("target"); !errors.Is(err, unix.EINVAL) {
			t.Fatalf("Readlink(file): got %v, want EINVAL", err)
		}
		c.Check(t)
	})
}

// hardlinkCase: a hardlink target and where it must resolve.
type hardlinkCase struct {
	target  string // untrusted target
	wantErr error  // expected error (nil = success)
	sameAs  string // on success: the entry (relative to root) the link shares its inode with
}

func TestHardlinkTargets(t *testing.T) {
	cases := []hardlinkCase{
		{target: "target", sameAs: "target"},
		{target: "/target", sameAs: "target"}, // kaniko-style absolute names are re-rooted
		{target: "../../../target", sameAs: "target"},
		{target: "abs/c/file", sameAs: "a/b/c/file"}, // symlinked parent resolved in root
		{target: "rel", sameAs: "rel"},               // link to a symlink links the symlink
		{target: "host-victim", sameAs: "host-victim"},
		{target: "dangling", sameAs: "dangling"},
		{target: "fifo", sameAs: "fifo"},
		{target: "missing", wantErr: unix.ENOENT},
		{target: "../victim/hello", wantErr: unix.ENOENT},
		{target: "a", wantErr: unix.EPERM},
		{target: "target/", wantErr: unix.EINVAL},
		{target: "/", wantErr: ErrRootIsNotAllowed},
		{target: "a/..", wantErr: ErrInvalidName},
	}
	forEachBackend(t, func(t *testing.T, b backend) {
		for _, tc := range cases {
			t.Run(tc.target, func(t *testing.T) {
				c := resolveTree(t)
				// The victim's path as an absolute in-root name.
				r := openTestRoot(t, c.Root, b)
				err := r.Hardlink("a/link", tc.target)
				if tc.wantErr != nil {
					if !errors.Is(err, tc.wantErr) {
						t.Fatalf("Hardlink(%q): got %v, want %v", tc.target, err, tc.wantErr)
					}
				} else {
					if err != nil {
						t.Fatalf("Hardlink(%q): %v", tc.target, err)
					}
					if inodeOf(t, filepath.Join(c.Root, "a/link")) != inodeOf(t, filepath.Join(c.Root, tc.sameAs)) {
						t.Fatalf("Hardlink(%q): link does not share the inode of %q", tc.target, tc.sameAs)
					}
				}
				c.Check(t)
			})
		}
	})
}

// TestHardlinkAbsoluteHostPath: a target naming the host victim by its
// absolute host path resolves inside the root (T10, T13).
func TestHardlinkAbsoluteHostPath(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		c := resolveTree(t)
		r := openTestRoot(t, c.Root, b)
		if err := r.Hardlink("grab", c.Hello); !errors.Is(err, unix.ENOENT) {
			t.Fatalf("Hardlink(host path): got %v, want ENOENT", err)
		}
		if err := r.Hardlink("grab", "../dest-evil/secret"); !errors.Is(err, unix.ENOENT) {
			t.Fatalf("Hardlink(prefix sibling): got %v, want ENOENT", err)
		}
		c.Check(t)
	})
}
