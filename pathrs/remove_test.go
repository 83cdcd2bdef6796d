package pathrs

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/safeunpack/safeunpack/internal/testutil"
)

func TestRemove(t *testing.T) {
	cases := []opCase{
		{path: "target"},
		{path: "host-victim"}, // the link goes, the victim stays
		{path: "rel"},
		{path: "rel/", wantErr: unix.ENOTDIR},
		{path: "a/b/c/d"},
		{path: "a/b/c/d/"},
		{path: "a", wantErr: unix.ENOTEMPTY},
		{path: "target/", wantErr: unix.ENOTDIR},
		{path: "missing", wantErr: unix.ENOENT},
		{path: "/", wantErr: ErrRootIsNotAllowed},
		{path: "a/..", wantErr: ErrInvalidName},
		{path: "abs/c/file"},
	}
	forEachBackend(t, func(t *testing.T, b backend) {
		for _, tc := range cases {
			t.Run(tc.path, func(t *testing.T) {
				c := resolveTree(t)
				r := openTestRoot(t, c.Root, b)
				err := r.Remove(tc.path)
				if tc.wantErr != nil {
					if !errors.Is(err, tc.wantErr) {
						t.Fatalf("Remove(%q): got %v, want %v", tc.path, err, tc.wantErr)
					}
				} else if err != nil {
					t.Fatalf("Remove(%q): %v", tc.path, err)
				}
				c.Check(t)
			})
		}
	})
}

func TestRemoveAll(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		c := resolveTree(t)
		// A tree full of links pointing out, a FIFO, a read-only dir.
		testutil.MakeTree(t, c.Root,
			"dir t",
			"dir t/x",
			"symlink t/x/out -> $T/victim",
			"symlink t/x/out-hello -> $T/victim/hello",
			"hardlink t/x/tgt -> target",
			"fifo t/x/p",
			"dir t/ro",
			"file t/ro/f",
			"dir t/zero",
			"file t/zero/f",
			"dir t/zero/sub",
			"file t/zero/sub/g",
		)
		if err := os.Chmod(filepath.Join(c.Root, "t/zero"), 0); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(filepath.Join(c.Root, "t/ro"), 0o555); err != nil {
			t.Fatal(err)
		}
		r := openTestRoot(t, c.Root, b)
		if err := r.RemoveAll("abs/../../t"); err != nil {
			t.Fatalf("RemoveAll: %v", err)
		}
		if _, err := os.Lstat(filepath.Join(c.Root, "t")); !os.IsNotExist(err) {
			t.Fatalf("t still exists: %v", err)
		}
		if data, _ := os.ReadFile(filepath.Join(c.Root, "target")); string(data) != "in-root-target" {
			t.Fatalf("hardlinked target changed: %q", data)
		}
		if err := r.RemoveAll("missing"); err != nil {
			t.Fatalf("RemoveAll(missing): %v", err)
		}
		if err := r.RemoveAll("/"); !errors.Is(err, ErrRootIsNotAllowed) {
			t.Fatalf("RemoveAll(/): got %v, want ErrRootIsNotAllowed", err)
		}
		// Through a link to the victim dir: only the link goes.
		if err := r.Symlink(c.Victim, "vlink"); err != nil {
			t.Fatal(err)
		}
		if err := r.RemoveAll("vlink"); err != nil {
			t.Fatal(err)
		}
		c.Check(t)
	})
}

// TestRemoveAllDeep removes a tree far deeper than the descriptors RemoveAll
// may hold, without recursion (T07).
func TestRemoveAllDeep(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		c := resolveTree(t)
		r := openTestRoot(t, c.Root, b)
		depth := 3000
		if testing.Short() {
			depth = 300
		}
		d, err := r.Dir()
		if err != nil {
			t.Fatal(err)
		}
		if err := d.Mkdir("deep", 0o755); err != nil {
			t.Fatal(err)
		}
		cur, err := d.OpenDir("deep")
		if err != nil {
			t.Fatal(err)
		}
		d.Close()
		for i := range depth {
			if err := cur.Mkdir("d", 0o755); err != nil {
				t.Fatal(err)
			}
			f, err := cur.CreateFile("f", unix.O_WRONLY, 0o644)
			if err != nil {
				t.Fatal(err)
			}
			f.Close()
			next, err := cur.OpenDir("d")
			if err != nil {
				t.Fatalf("level %d: %v", i, err)
			}
			cur.Close()
			cur = next
		}
		cur.Close()
		if err := r.RemoveAll("deep"); err != nil {
			t.Fatalf("RemoveAll(deep): %v", err)
		}
		if _, err := os.Lstat(filepath.Join(c.Root, "deep")); !os.IsNotExist(err) {
			t.Fatalf("deep still exists: %v", err)
		}
		c.Check(t)
	})
}

// TestRemoveAllConcurrent: concurrent RemoveAll calls on one tree all
// succeed (ENOENT is success).
func TestRemoveAllConcurrent(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		c := resolveTree(t)
		var spec []string
		for i := range 20 {
			spec = append(spec, "dir w"+itoa(i))
			for j := range 20 {
				spec = append(spec, "file w"+itoa(i)+"/f"+itoa(j))
			}
		}
		testutil.MakeTree(t, c.Root, append([]string{"dir w"}, prefixAll(spec, "w/")...)...)
		r := openTestRoot(t, c.Root, b)
		var wg sync.WaitGroup
		errs := make(chan error, 8)
		for range 8 {
			wg.Add(1)
			go func() { defer wg.Done(); errs <- r.RemoveAll("w") }()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatalf("concurrent RemoveAll: %v", err)
			}
		}
		c.Check(t)
	})
}

func prefixAll(spec []string, prefix string) []string {
	out := make([]string, len(spec))
	for i, s := range spec {
		kind, rest, _ := strings.Cut(s, " ")
		out[i] = kind + " " + prefix + rest
	}
	return out
}

func TestRename(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		c := resolveTree(t)
		r := openTestRoot(t, c.Root, b)
		if err := r.Rename("target", "abs/moved", 0); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Lstat(filepath.Join(c.Root, "a/b/moved")); err != nil {
			t.Fatal(err)
		}
		if err := r.Rename("a/b/moved", "etc/passwd", unix.RENAME_NOREPLACE); !errors.Is(err, unix.EEXIST) {
			t.Fatalf("Rename(NOREPLACE): got %v, want EEXIST", err)
		}
		before := inodeOf(t, filepath.Join(c.Root, "etc/passwd"))
		if err := r.Rename("a/b/moved", "etc/passwd", unix.RENAME_EXCHANGE); err != nil {
			t.Fatal(err)
		}
		if inodeOf(t, filepath.Join(c.Root, "a/b/moved")) != before {
			t.Fatal("RENAME_EXCHANGE did not swap")
		}
		// Renaming a link to the victim renames the link only.
		if err := r.Rename("host-victim", "hv2", 0); err != nil {
			t.Fatal(err)
		}
		if err := r.Rename("x", "y", 0xff00); !errors.Is(err, unix.EINVAL) {
			t.Fatalf("Rename(bad flags): got %v, want EINVAL", err)
		}
		if err := r.Rename("/", "y", 0); !errors.Is(err, ErrRootIsNotAllowed) {
			t.Fatalf("Rename(/): got %v, want ErrRootIsNotAllowed", err)
		}
		c.Check(t)
	})
}

func TestRenameWhiteout(t *testing.T) {
	testutil.RequireRoot(t)
	forEachBackend(t, func(t *testing.T, b backend) {
		c := resolveTree(t)
		r := openTestRoot(t, c.Root, b)
		if err := r.Rename("target", "t2", unix.RENAME_WHITEOUT); err != nil {
			t.Fatal(err)
		}
		var st unix.Stat_t
		if err := unix.Lstat(filepath.Join(c.Root, "target"), &st); err != nil {
			t.Fatal(err)
		}
		if st.Mode&unix.S_IFMT != unix.S_IFCHR || st.Rdev != 0 {
			t.Fatalf("RENAME_WHITEOUT left mode %o rdev %d, want a 0:0 char device", st.Mode, st.Rdev)
		}
		c.Check(t)
	})
}
