package pathrs

import (
	"errors"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/safeunpack/safeunpack/internal/linux"
	"github.com/safeunpack/safeunpack/internal/testutil"
)

// TestSeccompDeniesOpenat2 runs in a child process whose seccomp filter
// makes openat2(2) fail with ENOSYS, as on a pre-5.6 kernel or under a
// restrictive container profile. Every lookup must then go through the
// emulated walker, transparently, with the same results.
func TestSeccompDeniesOpenat2(t *testing.T) {
	if testutil.ReexecChild() != testutil.AsSelf {
		testutil.Reexec(t, testutil.AsSelf)
		return
	}
	if err := testutil.DenySyscallsENOSYS(unix.SYS_OPENAT2); err != nil {
		t.Skipf("cannot install a seccomp filter here: %v", err)
	}
	if _, err := unix.Openat2(unix.AT_FDCWD, ".", &unix.OpenHow{Flags: unix.O_PATH}); !errors.Is(err, unix.ENOSYS) {
		t.Fatalf("openat2 under the filter: got %v, want ENOSYS", err)
	}
	c := resolveTree(t)
	r, err := OpenRoot(c.Root) // the default, auto backend
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	for _, tc := range resolveCases {
		var h *Handle
		if tc.nofollow {
			h, err = r.ResolveNoFollow(tc.path)
		} else {
			h, err = r.Resolve(tc.path)
		}
		if tc.wantErr != 0 {
			if !errors.Is(err, tc.wantErr) {
				t.Errorf("Resolve(%q): got %v, want %v", tc.path, err, tc.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("Resolve(%q): %v", tc.path, err)
			continue
		}
		if handleInode(t, h) != inodeOf(t, filepath.Join(c.Root, tc.want)) {
			t.Errorf("Resolve(%q): wrong inode", tc.path)
		}
		h.Close()
	}
	if linux.HasOpenat2() {
		t.Fatal("HasOpenat2 still true under the filter")
	}
	d, err := r.MkdirAll("abs/new/dir", 0o755)
	if err != nil {
		t.Fatalf("MkdirAll under the filter: %v", err)
	}
	d.Close()
	c.Check(t)
}
