package procfs

import (
	"errors"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/safeunpack/safeunpack/internal/linux"
	"github.com/safeunpack/safeunpack/internal/testutil"
)

func TestRungString(t *testing.T) {
	for _, tc := range []struct {
		rung Rung
		want string
	}{
		{RungFsopen, "fsopen"},
		{RungOpenTree, "open_tree"},
		{RungOpenTreeRecursive, "open_tree_recursive"},
		{RungHostProc, "host_proc"},
		{0, "Rung(0)"},
		{42, "Rung(42)"},
	} {
		if got := tc.rung.String(); got != tc.want {
			t.Errorf("Rung(%d).String(): got %q, want %q", int(tc.rung), got, tc.want)
		}
	}
}

// TestBuildEachRung builds every rung, masked and unmasked, and checks the
// verification properties independently.
func TestBuildEachRung(t *testing.T) {
	testutil.RequireRoot(t)
	for _, r := range ladder {
		for _, subset := range []bool{true, false} {
			name := r.String()
			if !subset {
				name += "-unmasked"
			}
			t.Run(name, func(t *testing.T) {
				h := buildRungOrSkip(t, r, subset)
				if h.Rung() != r {
					t.Errorf("Rung(): got %s, want %s", h.Rung(), r)
				}
				checkHandle(t, h)
				wantSubset := subset && r == RungFsopen && linux.KernelAtLeast(5, 8)
				if h.Subset() != wantSubset {
					t.Errorf("Subset(): got %t, want %t", h.Subset(), wantSubset)
				}
				if h.cacheable() != (r == RungFsopen && h.Subset()) {
					t.Errorf("cacheable(): got %t for a %s handle with subset %t", h.cacheable(), r, h.Subset())
				}
			})
		}
	}
}

// TestLadderFallsThrough forces rungs to fail through the seams and checks
// that the ladder ends at the next one, verified.
func TestLadderFallsThrough(t *testing.T) {
	for _, tc := range []struct {
		name string
		fail []Rung // rungs forced to fail
		want Rung   // rung expected as root; 0 means the ladder fails
	}{
		{"none-fail", nil, RungFsopen},
		{"fsopen-fails", []Rung{RungFsopen}, RungOpenTree},
		{"clone-fails", []Rung{RungFsopen, RungOpenTree}, RungOpenTreeRecursive},
		{"mount-api-fails", []Rung{RungFsopen, RungOpenTree, RungOpenTreeRecursive}, RungHostProc},
		{"all-fail", ladder[:], 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			failRungs(t, tc.fail...)
			want := tc.want
			if want != 0 && !testutil.IsRoot() {
				want = RungHostProc // Without CAP_SYS_ADMIN the mount API is refused.
			}
			h, err := OpenHandle()
			if want == 0 {
				if !errors.Is(err, errRungDisabled) {
					t.Fatalf("OpenHandle: got err %v, want the seams' error", err)
				}
				for _, r := range ladder {
					if !strings.Contains(err.Error(), r.String()+":") {
						t.Errorf("OpenHandle error %q does not report rung %s", err, r)
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("OpenHandle: %v", err)
			}
			defer h.Close()
			if h.Rung() != want {
				t.Fatalf("OpenHandle: got rung %s, want %s", h.Rung(), want)
			}
			checkHandle(t, h)
			if cachedNow := cached.Load() == h; cachedNow != (want == RungFsopen) {
				t.Errorf("%s handle cached: %t", want, cachedNow)
			}
		})
	}
}

// TestLadderRejectsBogusCandidates makes each mount rung return an fd that
// is not a detached procfs root and checks that verification refuses it,
// closes it, and falls through to the host rung.
func TestLadderRejectsBogusCandidates(t *testing.T) {
	resetCache(t)
	var handed []int
	hand := func(path string) (int, error) {
		fd, err := unix.Open(path, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		handed = append(handed, fd)
		return fd, err
	}
	dir := t.TempDir()
	swap(t, &mountAPIAllowed, func() bool { return true })
	swap(t, &haveSysAdmin, func() bool { return true })
	// Not procfs at all.
	swap(t, &openFsopen, func(bool) (int, error) { return hand(dir) })
	// procfs, but not the root inode.
	// procfs root, but attached to the host mount tree.
	swap(t, &openTree, func(recursive bool) (int, error) {
		if recursive {
			return hand("/proc")
		}
		return hand("/proc/self")
	})
	for _, r := range ladder[:3] {
		_, err := buildRung(r, true)
		wantUnsafe(t, "build "+r.String()+" from a bogus fd", err)
	}
	h, err := OpenHandle()
	if err != nil {
		t.Fatalf("OpenHandle: %v", err)
	}
	defer h.Close()
	if h.Rung() != RungHostProc {
		t.Fatalf("OpenHandle: got rung %s, want %s", h.Rung(), RungHostProc)
	}
	checkHandle(t, h)
	for _, fd := range handed {
		if fd == h.fd {
			continue // The number was reused by the host handle.
		}
		if fdOpen(fd) {
			t.Errorf("refused candidate fd %d was not closed", fd)
		}
	}
}

// TestMountAPIRefusedBeforeLinux52 pretends the kernel is older than 5.2:
// neither fsopen nor open_tree may be called.
func TestMountAPIRefusedBeforeLinux52(t *testing.T) {
	resetCache(t)
	swap(t, &mountAPIAllowed, func() bool { return false })
	called := false
	swap(t, &openFsopen, func(bool) (int, error) { called = true; return -1, unix.ENOSYS })
	swap(t, &openTree, func(bool) (int, error) { called = true; return -1, unix.ENOSYS })
	h, err := OpenHandle()
	if err != nil {
		t.Fatalf("OpenHandle: %v", err)
	}
	defer h.Close()
	if called {
		t.Error("fsopen or open_tree was called on a kernel older than 5.2")
	}
	if h.Rung() != RungHostProc {
		t.Errorf("OpenHandle: got rung %s, want %s", h.Rung(), RungHostProc)
	}
	if _, err := buildRung(RungFsopen, true); !errors.Is(err, errors.ErrUnsupported) {
		t.Errorf("build fsopen on an old kernel: got err %v, want ErrUnsupported", err)
	}
}

// TestNoSysAdminSkipsMountAPI checks that without CAP_SYS_ADMIN the mount
// rungs are not even tried, and that the capability probe agrees with the
// kernel: with the capability, fsopen does not fail with EPERM.
func TestNoSysAdminSkipsMountAPI(t *testing.T) {
	resetCache(t)
	if hasCapSysAdmin() {
		if _, err := openFsopen(true); errors.Is(err, unix.EPERM) && testutil.IsRoot() {
			t.Errorf("CAP_SYS_ADMIN in the effective set, yet fsopen gives EPERM")
		}
	} else if fd, err := fsopenProc(true); err == nil {
		_ = unix.Close(fd)
		t.Errorf("no CAP_SYS_ADMIN in the effective set, yet fsopen succeeded")
	}
	swap(t, &haveSysAdmin, func() bool { return false })
	called := false
	swap(t, &openFsopen, func(bool) (int, error) { called = true; return -1, unix.ENOSYS })
	swap(t, &openTree, func(bool) (int, error) { called = true; return -1, unix.ENOSYS })
	h, err := OpenHandle()
	if err != nil {
		t.Fatalf("OpenHandle: %v", err)
	}
	defer h.Close()
	if called || h.Rung() != RungHostProc {
		t.Errorf("without CAP_SYS_ADMIN: mount API called %t, rung %s; want not called, host_proc", called, h.Rung())
	}
	if _, err := buildRung(RungOpenTree, true); !errors.Is(err, unix.EPERM) {
		t.Errorf("build open_tree without CAP_SYS_ADMIN: got err %v, want EPERM", err)
	}
}

// TestOnlySubsetFsopenIsCached checks that exactly the private subset=pid
// handle is shared and that the others are built per use and really closed.
func TestOnlySubsetFsopenIsCached(t *testing.T) {
	testutil.RequireRoot(t)
	t.Run("fsopen-subset", func(t *testing.T) {
		resetCache(t)
		a, err := OpenHandle()
		if err != nil {
			t.Fatal(err)
		}
		b, err := OpenHandle()
		if err != nil {
			t.Fatal(err)
		}
		if a != b || cached.Load() != a {
			t.Fatalf("two OpenHandle calls gave %p and %p, cache holds %p; want one shared handle", a, b, cached.Load())
		}
		if err := a.Close(); err != nil || !fdOpen(a.fd) {
			t.Errorf("Close of the cached handle: err %v, fd open %t; want a no-op", err, fdOpen(a.fd))
		}
	})
	for _, tc := range []struct {
		name  string
		setup func(t *testing.T)
	}{
		{"fsopen-unmasked", func(t *testing.T) {
			resetCache(t)
			swap(t, &openFsopen, func(bool) (int, error) { return fsopenProc(false) })
		}},
		{"open_tree", func(t *testing.T) { forceRung(t, RungOpenTree) }},
		{"host", func(t *testing.T) { forceRung(t, RungHostProc) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.setup(t)
			a, err := OpenHandle()
			if err != nil {
				t.Skipf("rung unavailable: %v", err)
			}
			b, err := OpenHandle()
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close()
			if a == b || cached.Load() != nil {
				t.Fatalf("%s handle was cached", a.Rung())
			}
			fd := a.fd
			if err := a.Close(); err != nil {
				t.Fatalf("Close: %v", err)
			}
			if fdOpen(fd) && fd != b.fd {
				t.Errorf("Close of a %s handle left fd %d open", a.Rung(), fd)
			}
			if err := a.Close(); err != nil {
				t.Errorf("second Close: %v", err)
			}
			if _, err := a.Open(ProcSelf, "stat", unix.O_RDONLY); err == nil {
				t.Error("Open on a closed handle succeeded")
			}
		})
	}
}

// TestOpenUnmaskedHandle checks that the unmasked handle sees global files
// and is never cached.
func TestOpenUnmaskedHandle(t *testing.T) {
	resetCache(t)
	h, err := OpenUnmaskedHandle()
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	checkHandle(t, h)
	if h.Subset() || h.shared || cached.Load() == h {
		t.Errorf("unmasked %s handle: subset %t, shared %t", h.Rung(), h.Subset(), h.shared)
	}
	f, err := h.Open(ProcRoot, "uptime", unix.O_RDONLY)
	if err != nil {
		t.Fatalf("open uptime on the unmasked handle: %v", err)
	}
	_ = f.Close()
}
