package procfs

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/safeunpack/safeunpack/internal/testutil"
)

// cachedOrSkip returns the freshly built cached handle, skipping where no
// cacheable handle can be built (no CAP_SYS_ADMIN).
func cachedOrSkip(t *testing.T) *Handle {
	t.Helper()
	resetCache(t)
	h, err := OpenHandle()
	if err != nil {
		t.Fatal(err)
	}
	if !h.shared {
		_ = h.Close()
		t.Skipf("no cacheable handle here (got %s): the cache needs CAP_SYS_ADMIN", h.Rung())
	}
	return h
}

// readSelfStatus reads self/status through the package functions and
// checks that it is this process's.
func readSelfStatus(t *testing.T) {
	t.Helper()
	f, err := Open(ProcSelf, "status", unix.O_RDONLY)
	if err != nil {
		t.Fatalf("Open self/status: %v", err)
	}
	defer f.Close()
	data, err := io.ReadAll(f)
	if err != nil {
		t.Fatal(err)
	}
	if want := "\nPid:\t" + strconv.Itoa(os.Getpid()) + "\n"; !bytes.Contains(data, []byte(want)) {
		t.Fatalf("self/status does not contain %q:\n%s", want, data)
	}
}

// TestStaleCachedHandle closes the cached handle's fd behind the package's
// back, as runc does before exec (runc#5437, libpathrs#413), in the ways a
// careless caller can: the package must rebuild, never panic, and never
// touch the fd number once it is someone else's.
func TestStaleCachedHandle(t *testing.T) {
	testutil.RequireRoot(t)
	t.Run("closed", func(t *testing.T) {
		h := cachedOrSkip(t)
		if err := unix.Close(h.fd); err != nil {
			t.Fatal(err)
		}
		readSelfStatus(t)
		if now := cached.Load(); now == h || now == nil {
			t.Fatalf("stale handle still cached (%p) or nothing cached", now)
		}
		checkHandle(t, cached.Load())
		// The stale handle the caller may still hold keeps working.
		if _, err := h.Readlink(ProcSelf, "exe"); err != nil {
			t.Errorf("Readlink through the stale handle: %v", err)
		}
	})
	t.Run("reused-by-directory", func(t *testing.T) {
		h := cachedOrSkip(t)
		dir := t.TempDir()
		testutil.MakeTree(t, dir, "dir self", "file self/status 0644 not-procfs")
		other, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err != nil {
			t.Fatal(err)
		}
		// Put the directory exactly where the handle's fd was.
		if err := unix.Dup3(other, h.fd, unix.O_CLOEXEC); err != nil {
			t.Fatal(err)
		}
		_ = unix.Close(other)
		reused := h.fd
		t.Cleanup(func() { _ = unix.Close(reused) })
		for _, op := range []struct {
			name string
			run  func() error
		}{
			{"Open", func() error { readSelfStatus(t); return nil }},
			{"FdPath", func() error {
				p, err := FdPath(reused)
				if err == nil && p != dir {
					t.Errorf("FdPath(%d): got %q, want %q", reused, p, dir)
				}
				return err
			}},
		} {
			if err := op.run(); err != nil {
				t.Errorf("%s after the fd was reused: %v", op.name, err)
			}
		}
		// The caller's directory is untouched and still open.
		var st unix.Stat_t
		if err := unix.Fstat(reused, &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFDIR {
			t.Fatalf("the caller's fd %d was closed or changed: %v", reused, err)
		}
		data, err := os.ReadFile(filepath.Join(dir, "self", "status"))
		if err != nil || string(data) != "not-procfs" {
			t.Errorf("decoy file changed: %q, %v", data, err)
		}
	})
	t.Run("reused-by-file-o-path", func(t *testing.T) {
		// Non-strict (O_PATH) operations skip the revalidation and must
		// catch the stale handle through the failure path instead.
		h := cachedOrSkip(t)
		f, err := os.Open(os.Args[0])
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if err := unix.Dup3(int(f.Fd()), h.fd, unix.O_CLOEXEC); err != nil {
			t.Fatal(err)
		}
		reused := h.fd
		t.Cleanup(func() { _ = unix.Close(reused) })
		target, err := Readlink(ProcSelf, "exe")
		if err != nil {
			t.Fatalf("Readlink after the fd was reused: %v", err)
		}
		if exe, _ := os.Executable(); target != exe {
			t.Errorf("Readlink self/exe: got %q, want %q", target, exe)
		}
	})
	t.Run("rebuild-fails", func(t *testing.T) {
		h := cachedOrSkip(t)
		if err := unix.Close(h.fd); err != nil {
			t.Fatal(err)
		}
		failRungs(t, ladder[:]...)
		cached.Store(h) // failRungs emptied the cache; put the stale handle back.
		_, err := Open(ProcSelf, "status", unix.O_RDONLY)
		if !errors.Is(err, errRungDisabled) {
			t.Errorf("Open with a stale cache and no rung: got err %v, want the rungs' errors", err)
		}
		if _, err := FdPath(0); !errors.Is(err, errRungDisabled) && !errors.Is(err, unix.EBADF) {
			t.Errorf("FdPath with a stale cache and no rung: got err %v", err)
		}
	})
}

// TestConcurrentUse runs the package functions from many goroutines while
// the cache is emptied underneath them; with -race this checks the cache's
// publication and the race-tolerant insert. Every call must succeed.
func TestConcurrentUse(t *testing.T) {
	resetCache(t)
	f, err := os.Open(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	exe, _ := os.Executable()
	iterations := 200
	if testing.Short() {
		iterations = 20
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8*iterations)
	for range 8 {
		wg.Go(func() {
			for range iterations {
				p, err := FdPath(int(f.Fd()))
				if err != nil || p != exe {
					errs <- errors.Join(err, errors.New("FdPath gave "+p))
				}
				g, err := Open(ProcThreadSelf, "stat", unix.O_RDONLY)
				if err != nil {
					errs <- err
					continue
				}
				_ = g.Close()
			}
		})
	}
	// Empty the cache repeatedly so that goroutines race to rebuild and
	// publish; the handles dropped are closed once nobody uses them.
	var dropped []*Handle
	for range iterations / 10 {
		if h := cached.Swap(nil); h != nil {
			dropped = append(dropped, h)
		}
	}
	wg.Wait()
	for _, h := range dropped {
		h.shared = false
		_ = h.Close()
	}
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// TestStaleOwnHandle closes the fd of a caller-owned (uncached) handle
// behind its back and reuses the number for a decoy directory: operations
// must fail cleanly, never read the decoy, never panic.
func TestStaleOwnHandle(t *testing.T) {
	forceRung(t, RungHostProc)
	h, err := OpenHandle()
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	dir := t.TempDir()
	testutil.MakeTree(t, dir, "dir self", "file self/status 0644 decoy")
	decoy, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := unix.Dup3(decoy, h.fd, unix.O_CLOEXEC); err != nil {
		t.Fatal(err)
	}
	_ = unix.Close(decoy)
	if _, err := h.Open(ProcSelf, "status", unix.O_RDONLY); !errors.Is(err, unix.EBADF) {
		t.Errorf("Open on a handle whose fd was reused: got err %v, want EBADF", err)
	}
	if _, err := h.Readlink(ProcSelf, "exe"); err == nil {
		t.Error("Readlink on a handle whose fd was reused succeeded")
	}
	if err := unix.Close(h.fd); err != nil {
		t.Fatal(err)
	}
	if _, err := h.Open(ProcSelf, "status", unix.O_RDONLY); !errors.Is(err, unix.EBADF) {
		t.Errorf("Open on a handle whose fd was closed: got err %v, want EBADF", err)
	}
	h.closed.Store(true) // The fd is gone; keep the deferred Close from closing a reused number.
}
