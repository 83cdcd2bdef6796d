package pathrs

import (
	"errors"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/safeunpack/safeunpack/internal/testutil"
)

// resolveCase is one row of the shared resolution table.
type resolveCase struct {
	path     string     // untrusted input
	nofollow bool       // ResolveNoFollow instead of Resolve
	want     string     // expected inode, as a path relative to the root ("" = the root)
	wantErr  unix.Errno // expected errno instead (0 = success)
}

var resolveCases = []resolveCase{
	// Plain paths.
	{path: "a/b/c", want: "a/b/c"},
	{path: "/a/b/c", want: "a/b/c"},
	{path: "", want: ""},
	{path: ".", want: ""},
	{path: "/", want: ""},
	{path: "a/./b//c/", want: "a/b/c"},
	{path: "a/b/c/file", want: "a/b/c/file"},
	// ".." is clamped at the root, never reported.
	{path: "..", want: ""},
	{path: "../../../../../..", want: ""},
	{path: "/../../../../../..", want: ""},
	{path: "a/../../../etc/passwd", want: "etc/passwd"},
	{path: "a/b/../../a/b/../b/c", want: "a/b/c"},
	// Relative and absolute symlinks are resolved inside the root.
	{path: "rel", want: "a/b"},
	{path: "rel", nofollow: true, want: "rel"},
	{path: "rel/c", want: "a/b/c"},
	{path: "abs/c", want: "a/b/c"},
	{path: "dotdot/b", want: "a/b"},
	{path: "root-link", want: ""},
	{path: "root-link/etc/passwd", want: "etc/passwd"},
	{path: "root-link2", want: ""},
	{path: "root-link3", want: ""},
	{path: "escape1", want: "target"},
	{path: "escape2", want: "target"},
	{path: "a/b/up/a/b/c", want: "a/b/c"},
	{path: "a/b/c/passwd", want: "etc/passwd"},
	{path: "a/b/c/passwd-rel", want: "etc/passwd"},
	{path: "self/self/self/a", want: "a"},
	{path: "filelink", want: "a/b/c/file"},
	{path: "empty-dir-link", want: "a"},
	// A link to a host path resolves inside the root (and is missing there).
	{path: "host-victim", wantErr: unix.ENOENT},
	{path: "host-victim", nofollow: true, want: "host-victim"},
	// Dangling, looping, type errors.
	{path: "dangling", wantErr: unix.ENOENT},
	{path: "dangling", nofollow: true, want: "dangling"},
	{path: "dangling/", nofollow: true, wantErr: unix.ENOENT},
	{path: "loop1", wantErr: unix.ELOOP},
	{path: "loop1", nofollow: true, want: "loop1"},
	{path: "loop1/x", nofollow: true, wantErr: unix.ELOOP},
	{path: "missing", wantErr: unix.ENOENT},
	{path: "a/missing/x", wantErr: unix.ENOENT},
	{path: "a/b/c/file/", wantErr: unix.ENOTDIR},
	{path: "a/b/c/file/.", wantErr: unix.ENOTDIR},
	{path: "a/b/c/file/..", wantErr: unix.ENOTDIR},
	{path: "a/b/c/file/x", wantErr: unix.ENOTDIR},
	{path: "filelink/", wantErr: unix.ENOTDIR},
	{path: "trailing", wantErr: unix.ENOTDIR},
	// A trailing slash follows a final symlink even with nofollow.
	{path: "rel/", nofollow: true, want: "a/b"},
	{path: "rel//", nofollow: true, want: "a/b"},
	{path: "rel/.", nofollow: true, want: "a/b"},
	// NUL is EINVAL, never truncated.
	{path: "a\x00/b", wantErr: unix.EINVAL},
	// A FIFO resolves to an O_PATH handle without blocking.
	{path: "fifo", want: "fifo"},
}

func TestResolve(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		root := resolveTree(t).Root
		r := openTestRoot(t, root, b)
		for _, tc := range resolveCases {
			name := tc.path
			if tc.nofollow {
				name += "(nofollow)"
			}
			t.Run(name, func(t *testing.T) {
				var (
					h   *Handle
					err error
				)
				if tc.nofollow {
					h, err = r.ResolveNoFollow(tc.path)
				} else {
					h, err = r.Resolve(tc.path)
				}
				if tc.wantErr != 0 {
					if !errors.Is(err, tc.wantErr) {
						t.Fatalf("Resolve(%q): got err %v, want %v", tc.path, err, tc.wantErr)
					}
					var pe interface{ Unwrap() error }
					if !errors.As(err, &pe) {
						t.Errorf("Resolve(%q): error %T is not a wrapped *os.PathError", tc.path, err)
					}
					return
				}
				if err != nil {
					t.Fatalf("Resolve(%q): got err %v, want %q", tc.path, err, tc.want)
				}
				defer h.Close()
				got := handleInode(t, h)
				want := inodeOf(t, filepath.Join(root, tc.want))
				if got != want {
					t.Fatalf("Resolve(%q): got inode %v, want that of %q (%v)", tc.path, got, tc.want, want)
				}
			})
		}
	})
}

func handleInode(t testing.TB, h *Handle) [2]uint64 {
	t.Helper()
	st, err := h.Stat()
	if err != nil {
		t.Fatal(err)
	}
	return [2]uint64{st.Dev, st.Ino}
}

// TestResolveSymlinkLimit checks that both backends allow exactly the
// kernel's 40 symlinks in one lookup (threats.md T08).
func TestResolveSymlinkLimit(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		root := resolveTree(t).Root
		chainTree(t, root, "c", 40, "target")
		chainTree(t, root, "d", 41, "target")
		r := openTestRoot(t, root, b)
		h, err := r.Resolve("c0")
		if err != nil {
			t.Fatalf("Resolve(40 links): %v", err)
		}
		if got, want := handleInode(t, h), inodeOf(t, filepath.Join(root, "target")); got != want {
			t.Fatalf("Resolve(40 links): wrong inode")
		}
		h.Close()
		if _, err := r.Resolve("d0"); !errors.Is(err, unix.ELOOP) {
			t.Fatalf("Resolve(41 links): got %v, want ELOOP", err)
		}
	})
}

// TestResolveFanOut checks that symlink hops are counted across the whole
// lookup, so a fan-out of links cannot expand exponentially (T08).
func TestResolveFanOut(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		root := resolveTree(t).Root
		// f9 -> "."; fN -> f(N+1)/f(N+1)/... 8 wide: 8^10 hops if uncounted.
		if err := unix.Mkdir(filepath.Join(root, "fan"), 0o755); err != nil {
			t.Fatal(err)
		}
		chain := "."
		for i := 9; i >= 0; i-- {
			name := "fan/f" + itoa(i)
			if err := unix.Symlink(chain, filepath.Join(root, name)); err != nil {
				t.Fatal(err)
			}
			next := ""
			for range 8 {
				next += "f" + itoa(i) + "/"
			}
			chain = next
		}
		r := openTestRoot(t, root, b)
		_, err := r.Resolve("fan/f0/x")
		if !errors.Is(err, unix.ELOOP) {
			t.Fatalf("Resolve(fan-out): got %v, want ELOOP", err)
		}
	})
}

func TestOpenFlags(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		root := resolveTree(t).Root
		r := openTestRoot(t, root, b)
		f, err := r.Open("a/b/c/passwd-rel", unix.O_RDONLY)
		if err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 64)
		n, _ := f.Read(buf)
		f.Close()
		if string(buf[:n]) != "root-passwd" {
			t.Fatalf("Open(passwd-rel): read %q, want the in-root passwd", buf[:n])
		}
		if _, err := r.Open("rel", unix.O_RDONLY|unix.O_NOFOLLOW); !errors.Is(err, unix.ELOOP) {
			t.Fatalf("Open(rel, O_NOFOLLOW): got %v, want ELOOP", err)
		}
		if _, err := r.Open("x", unix.O_RDWR|unix.O_CREAT); !errors.Is(err, unix.EINVAL) {
			t.Fatalf("Open(O_CREAT): got %v, want EINVAL", err)
		}
		if _, err := r.Open("a", unix.O_WRONLY); !errors.Is(err, unix.EISDIR) {
			t.Fatalf("Open(dir, O_WRONLY): got %v, want EISDIR", err)
		}
	})
}

// unprivilegedTests are the tests that need no privilege; they run again as
// nobody and as root of a fresh user namespace (like `unshare -U -r`).
const unprivilegedTests = "^Test(Resolve|OpenFlags|CreateFile|Mkdir|MknodFifo|Symlink|Hardlink|Remove|Rename$|Chmod|Utimes|Xattrs|HandleReopen|DirOps)"

func TestUnprivileged(t *testing.T) {
	for _, mode := range []testutil.ReexecMode{testutil.AsNobody, testutil.InUserNSRoot} {
		t.Run(string(mode), func(t *testing.T) {
			testutil.ReexecPattern(t, mode, unprivilegedTests)
		})
	}
}
