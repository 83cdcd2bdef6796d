package layer

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/safeunpack/safeunpack/internal/testutil"
	"github.com/safeunpack/safeunpack/pathrs"
)

// raceEntries is the size of the layer applied under attack.
const raceEntries = 10_000

// The race loop's bounds per case and backend.
const (
	raceBudget  = time.Second
	raceMaxRuns = 50
)

// outcomeName names an Apply outcome for the statistics: success, or the
// errno behind the failure.
func outcomeName(err error) string {
	if err == nil {
		return "applied"
	}
	var errno unix.Errno
	if errors.As(err, &errno) {
		return errno.Error()
	}
	return "other"
}

// raceLayer is a layer of raceEntries entries whose names all run through
// "race". Each group replaces a symlink of its own with a directory, which
// empties the applier's handle cache, so that the next entry resolves
// race/... from the root again while the swapper is at work (cached handles
// would otherwise keep pointing at the real directory, which is safe but
// tests nothing).
func raceLayer(t testing.TB) []byte {
	b := newTar(t)
	for i := 0; i < raceEntries/3; i++ {
		d := fmt.Sprintf("race/g%04d", i)
		b.Symlink(d, "x").Dir(d, 0o755).File(d+"/f", 0o644, "data")
	}
	return b.Bytes()
}

// allowedRaceError reports the errors a layer may fail with while a
// directory on its path is being swapped for a symlink: the names stop
// existing, stop being directories, loop, or the resolver sees the swap
// (EXDEV, EAGAIN from openat2's retry bound). Anything else is a bug.
func allowedRaceError(err error) bool {
	for _, e := range []error{unix.ENOENT, unix.ENOTDIR, unix.ELOOP, unix.EXDEV, unix.EAGAIN, unix.EEXIST, unix.ENOTEMPTY} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// TestRaceSymlinkExchange swaps a directory inside the root with a symlink
// pointing out of it, with renameat2(RENAME_EXCHANGE) in a tight loop on
// other threads (threats.md T29, section 4), while a 10,000-entry layer
// whose names run through that directory is applied. Whatever happens,
// nothing outside the root changes (the canary), and the layer either
// applies or fails with one of allowedRaceError's errors.
func TestRaceSymlinkExchange(t *testing.T) {
	testutil.RequireLong(t)
	data := raceLayer(t)
	targets := map[string]string{
		"absolute-host": "$T/victim",
		"relative-up":   "../../../../../..",
		"root":          "/",
		"in-root-dir":   "/other",
		"dangling":      "/does/not/exist",
	}
	for name, target := range targets {
		t.Run(name, func(t *testing.T) {
			forEachBackend(t, func(t *testing.T, res pathrs.Resolver) {
				c := testutil.NewCanary(t)
				testutil.MakeTree(t, c.Root, "dir race", "dir other", "symlink swap -> "+target)
				c.Refresh(t)
				root := openRoot(t, c.Root, res)
				outcomes := map[string]int{}
				swaps := swapWhile(t, filepath.Join(c.Root, "race"), filepath.Join(c.Root, "swap"), func() {
					// Repeat until the budget is spent: a layer that fails
					// early (the first lookup met the symlink) is retried.
					deadline := time.Now().Add(raceBudget)
					for run := 0; run < raceMaxRuns && time.Now().Before(deadline); run++ {
						_, err := Apply(context.Background(), root, bytes.NewReader(data), Options{})
						if err != nil && !allowedRaceError(err) {
							t.Errorf("Apply: %v (not an allowed race outcome)", err)
						}
						outcomes[outcomeName(err)]++
					}
				})
				t.Logf("%d exchanges; outcomes %v", swaps, outcomes)
				c.Check(t)
			})
		})
	}
}

// swapWhile runs fn while two goroutines, each on its own locked thread,
// exchange a and b with renameat2(RENAME_EXCHANGE). It returns how many
// exchanges happened.
func swapWhile(t *testing.T, a, b string, fn func()) int64 {
	t.Helper()
	var (
		stop  atomic.Bool
		count atomic.Int64
		wg    sync.WaitGroup
	)
	for range 2 {
		wg.Go(func() {
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			for !stop.Load() {
				if err := unix.Renameat2(unix.AT_FDCWD, a, unix.AT_FDCWD, b, unix.RENAME_EXCHANGE); err != nil {
					t.Errorf("renameat2: %v", err)
					return
				}
				count.Add(1)
			}
		})
	}
	fn()
	stop.Store(true)
	wg.Wait()
	if count.Load() == 0 {
		t.Fatal("the swapper never ran")
	}
	return count.Load()
}
