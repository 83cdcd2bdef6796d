package pathrs

import (
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"golang.org/x/sys/unix"
)

func TestMkdirAll(t *testing.T) {
	cases := []opCase{
		{path: "x/y/z", wantAt: "x/y/z"},
		{path: "/x/y/z/", wantAt: "x/y/z"},
		{path: "a/b/c/d", wantAt: "a/b/c/d"}, // exists already
		{path: "", wantAt: ""},
		{path: "/", wantAt: ""},
		{path: "abs/x/y", wantAt: "a/b/x/y"},
		{path: "../../x", wantAt: "x"},
		{path: "a/./b/./x", wantAt: "a/b/x"},
		{path: "root-link3/x", wantAt: "x"},
		{path: "dangling/x", wantErr: unix.ENOTDIR},    // never create through a dangling link
		{path: "host-victim/x", wantErr: unix.ENOTDIR}, // nor through a link to the host
		{path: "target/x", wantErr: unix.ENOTDIR},
		{path: "x/../y", wantErr: unix.ENOENT}, // ".." in the part still to create
		{path: "x\x00", wantErr: unix.EINVAL},
	}
	forEachBackend(t, func(t *testing.T, b backend) {
		for _, tc := range cases {
			t.Run(tc.path, func(t *testing.T) {
				c := resolveTree(t)
				r := openTestRoot(t, c.Root, b)
				d, err := r.MkdirAll(tc.path, 0o755)
				if tc.wantErr != nil {
					if !errors.Is(err, tc.wantErr) {
						t.Fatalf("MkdirAll(%q): got %v, want %v", tc.path, err, tc.wantErr)
					}
					c.Check(t)
					return
				}
				if err != nil {
					t.Fatalf("MkdirAll(%q): %v", tc.path, err)
				}
				defer d.Close()
				st, err := d.Stat()
				if err != nil {
					t.Fatal(err)
				}
				if got, want := [2]uint64{st.Dev, st.Ino}, inodeOf(t, filepath.Join(c.Root, tc.wantAt)); got != want {
					t.Fatalf("MkdirAll(%q): handle is not %q", tc.path, tc.wantAt)
				}
				c.Check(t)
			})
		}
	})
}

func TestMkdirAllModes(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		c := resolveTree(t)
		r := openTestRoot(t, c.Root, b)
		for _, mode := range []uint32{0o4755, 0o2755, 0o10755, unix.S_IFDIR | 0o755} {
			if _, err := r.MkdirAll("m", mode); !errors.Is(err, ErrInvalidMode) {
				t.Errorf("MkdirAll(mode %o): got %v, want ErrInvalidMode", mode, err)
			}
		}
		d, err := r.MkdirAll("sticky", 0o1777)
		if err != nil {
			t.Fatalf("MkdirAll(sticky): %v", err)
		}
		d.Close()
		if _, err := os.Stat(filepath.Join(c.Root, "m")); !os.IsNotExist(err) {
			t.Fatalf("rejected MkdirAll created something: %v", err)
		}
	})
}

// TestMkdirAllConcurrent: concurrent creators of the same tree all succeed
// and share the winner's directories (runc#4543).
func TestMkdirAllConcurrent(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		c := resolveTree(t)
		r := openTestRoot(t, c.Root, b)
		var wg sync.WaitGroup
		errs := make(chan error, 16)
		for range 16 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				d, err := r.MkdirAll("p/q/r/s/t/u", 0o755)
				if err == nil {
					d.Close()
				}
				errs <- err
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatalf("concurrent MkdirAll: %v", err)
			}
		}
		if fi, err := os.Stat(filepath.Join(c.Root, "p/q/r/s/t/u")); err != nil || !fi.IsDir() {
			t.Fatalf("tree missing: %v", err)
		}
	})
}
