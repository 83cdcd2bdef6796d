package unpack

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/safeunpack/safeunpack/internal/testutil"
	"github.com/safeunpack/safeunpack/pathrs"
)

// TestRootfsReader: /etc/passwd and /etc/group are read inside the rootfs
// only, as regular files under the cap; hostile shapes give an error (or
// not-exist) without a host read, a hang or an unbounded read.
func TestRootfsReader(t *testing.T) {
	tests := []struct {
		name string
		tree []string // testutil.MakeTree spec under the rootfs
		want string   // content read; "" when an error is expected
		err  string   // substring of the error
		dev  bool     // needs mknod
	}{
		{name: "regular", tree: []string{"dir etc", "file etc/passwd 0644 root:x:0:0::/:"}, want: "root:x:0:0::/:"},
		{name: "absolute symlink re-rooted", tree: []string{"dir etc", "dir real", "file real/pw 0644 inside", "symlink etc/passwd -> /real/pw"}, want: "inside"},
		{name: "symlink to a host file", tree: []string{"dir etc", "symlink etc/passwd -> $T/victim/hello"}, err: "no such file"},
		{name: "dotdot symlink to a host file", tree: []string{"dir etc", "symlink etc/passwd -> ../../../../../../../../$T/victim/hello"}, err: "no such file"},
		{name: "etc is a symlink to the root", tree: []string{"file passwd 0644 top", "symlink etc -> /"}, want: "top"},
		{name: "fifo", tree: []string{"dir etc", "fifo etc/passwd"}, err: "not a regular file"},
		{name: "directory", tree: []string{"dir etc", "dir etc/passwd"}, err: "not a regular file"},
		{name: "device", tree: []string{"dir etc", "char etc/passwd 1 5"}, err: "not a regular file", dev: true},
		{name: "missing", tree: []string{"dir etc"}, err: "no such file"},
		{name: "etc is a file", tree: []string{"file etc 0644 x"}, err: "not a directory"},
		{name: "too large", tree: []string{"dir etc", "file etc/passwd 0644 BIG"}, err: "over the"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.dev {
				testutil.RequireMknod(t)
			}
			c := testutil.NewCanary(t)
			testutil.MakeTree(t, c.Root, tc.tree...)
			if tc.name == "too large" {
				if err := os.WriteFile(filepath.Join(c.Root, "etc", "passwd"), []byte(strings.Repeat("x", maxNameFileSize+1)), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			c.Refresh(t)
			root, err := pathrs.OpenRoot(c.Root)
			if err != nil {
				t.Fatal(err)
			}
			defer root.Close()
			done := make(chan struct{})
			var data []byte
			go func() {
				defer close(done)
				data, err = rootfsReader(root)("/etc/passwd")
			}()
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				t.Fatal("reading /etc/passwd blocked")
			}
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("read: got %q, %v; want an error containing %q", data, err, tc.err)
				}
				if strings.Contains(string(data), "host") {
					t.Errorf("a host file was read: %q", data)
				}
			} else if err != nil || string(data) != tc.want {
				t.Fatalf("read = %q, %v; want %q", data, err, tc.want)
			}
			if tc.err == "no such file" && !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("error %v does not match fs.ErrNotExist", err)
			}
			c.Check(t)
		})
	}
}
