package pathrs

import (
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/safeunpack/safeunpack/internal/testutil"
	"github.com/safeunpack/safeunpack/procfs"
)

// raceDuration is how long each race scenario runs per backend.
const raceDuration = 1500 * time.Millisecond

// raceAllowedErrs are the only errors an operation may return while a
// directory on its path is being swapped: it was not there (ENOENT), it was
// not a directory (ENOTDIR), a swapped-in link loops or was refused (ELOOP),
// a race was detected (EXDEV, EAGAIN), or our own name already exists.
var raceAllowedErrs = []unix.Errno{unix.ENOENT, unix.ENOTDIR, unix.ELOOP, unix.EXDEV, unix.EAGAIN, unix.EEXIST}

func allowedRaceErr(err error) bool {
	for _, e := range raceAllowedErrs {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// swapLoop exchanges a and b inside dirfd with RENAME_EXCHANGE, twice per
// round so that a paused swapper always leaves the original state (the
// pattern of filepath-securejoin's doRenameExchangeLoop), until stop closes.
func swapLoop(dirfd int, a, b string, stop <-chan struct{}, done *sync.WaitGroup, swaps *atomic.Int64) {
	defer done.Done()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	for {
		select {
		case <-stop:
			return
		default:
		}
		for range 2 {
			if err := unix.Renameat2(dirfd, a, dirfd, b, unix.RENAME_EXCHANGE); err == nil {
				swaps.Add(1)
			}
		}
	}
}

// TestRaceRenameExchange swaps a directory on the lookup path with escaping
// symlinks (absolute, "../.." style, dangling) and a regular file while
// resolutions and mutations run through it. Every outcome must be a result
// inside the root or an allowed error, and the host canary must keep its
// bytes, mode, owner, mtime, xattrs and link count (T29, T31).
func TestRaceRenameExchange(t *testing.T) {
	testutil.RequireLong(t)
	swaps := []struct {
		name  string
		setup func(c *testutil.Canary) string // returns the spec line of the swap partner "s"
	}{
		{"abs-escape", func(c *testutil.Canary) string { return "symlink s -> " + c.Victim }},
		{"dotdot-escape", func(c *testutil.Canary) string { return "symlink s -> ../../../../../../../../victim" }},
		{"dangling", func(c *testutil.Canary) string { return "symlink s -> /non/exist" }},
		{"file", func(c *testutil.Canary) string { return "file s 0644 decoy" }},
	}
	for _, sw := range swaps {
		t.Run(sw.name, func(t *testing.T) {
			forEachBackend(t, func(t *testing.T, b backend) {
				runRenameRace(t, b, sw.setup)
			})
		})
	}
}

func runRenameRace(t *testing.T, b backend, partner func(c *testutil.Canary) string) {
	c := testutil.NewCanary(t)
	testutil.MakeTree(t, c.Root,
		"dir a", "dir a/b", "dir a/b/c", "dir a/b/c/d", "file a/b/c/d/file 0644 in-root",
		partner(c))
	c.Refresh(t)
	r := openTestRoot(t, c.Root, b)
	rootfd, err := unix.Open(c.Root, unix.O_PATH|unix.O_DIRECTORY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(rootfd)
	adir, err := unix.Openat(rootfd, "a", unix.O_PATH|unix.O_DIRECTORY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(adir)
	// "s" lives in the root; move it next to b so the exchange stays in a/.
	if err := unix.Renameat(rootfd, "s", adir, "s"); err != nil {
		t.Fatal(err)
	}
	c.Refresh(t)

	stop := make(chan struct{})
	var swappers sync.WaitGroup
	var nswaps atomic.Int64
	swappers.Add(1)
	go swapLoop(adir, "b", "s", stop, &swappers, &nswaps)

	paths := []string{
		"a/b/c/d/file",
		"a/b/../b/../b/../b/c/d/file",
		"a/b/c/../../b/c/../c/d/../../c/d/file",
		"/a/b/c/d/../../../b/c/d",
	}
	var (
		ok, failed atomic.Int64
		mu         sync.Mutex
		unexpected []string
	)
	report := func(op string, err error) {
		if err == nil {
			ok.Add(1)
			return
		}
		failed.Add(1)
		if !allowedRaceErr(err) {
			mu.Lock()
			unexpected = append(unexpected, fmt.Sprintf("%s: %v", op, err))
			mu.Unlock()
		}
	}
	deadline := time.Now().Add(raceDuration)
	var workers sync.WaitGroup
	for w := range 3 {
		workers.Add(1)
		go func() {
			defer workers.Done()
			for i := 0; time.Now().Before(deadline); i++ {
				p := paths[i%len(paths)]
				h, err := r.Resolve(p)
				if err == nil {
					checkInsideRoot(t, c.Root, h)
					h.Close()
				}
				report("Resolve "+p, err)
				name := fmt.Sprintf("a/b/c/w%d-%d", w, i)
				d, err := r.MkdirAll(name+"/x/y", 0o755)
				if err == nil {
					d.Close()
				}
				report("MkdirAll", err)
				f, err := r.CreateFile(name+"-f", unix.O_WRONLY, 0o644)
				if err == nil {
					_, _ = f.WriteString("race")
					f.Close()
				}
				report("CreateFile", err)
				report("Hardlink", r.Hardlink(name+"-h", "a/b/c/d/file"))
				report("RemoveAll", r.RemoveAll(name))
			}
		}()
	}
	workers.Wait()
	close(stop)
	swappers.Wait()
	t.Logf("swaps %d, operations ok %d, failed with allowed errors %d", nswaps.Load(), ok.Load(), failed.Load())
	for _, u := range unexpected {
		t.Errorf("unexpected error under race: %s", u)
	}
	if nswaps.Load() == 0 {
		t.Fatal("the swapper never swapped: the test proves nothing")
	}
	c.Check(t)
}

// checkInsideRoot asserts that a resolved handle is inside root, using the
// verified procfs to read its path.
func checkInsideRoot(t *testing.T, root string, h *Handle) {
	err := h.fd.use(func(fd int) error {
		p, err := procfs.FdPath(fd)
		if err != nil {
			return err
		}
		if p != root && !strings.HasPrefix(p, root+"/") {
			t.Errorf("HOST PATH WAS CHANGED! THIS IS A PATH ESCAPE! resolved to %q outside %q", p, root)
		}
		return nil
	})
	if err != nil && !errors.Is(err, unix.EBADF) {
		t.Errorf("FdPath: %v", err)
	}
}
