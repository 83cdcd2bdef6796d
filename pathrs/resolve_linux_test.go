package pathrs

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// fakeOpenat2 replaces the openat2 system call for the test: call i (from
// 0) sleeps pause[i] if set, then fails with EAGAIN while i < eagains and
// opens the root itself after that. It returns the number of calls made.
func fakeOpenat2(t *testing.T, eagains int, pause map[int]time.Duration) *int {
	t.Helper()
	calls := new(int)
	saved := testOpenat2
	t.Cleanup(func() { testOpenat2 = saved })
	testOpenat2 = func(dirfd int, path string, how *unix.OpenHow) (int, error) {
		i := *calls
		*calls++
		time.Sleep(pause[i])
		if i < eagains {
			return -1, unix.EAGAIN
		}
		return unix.Openat(dirfd, ".", unix.O_PATH|unix.O_CLOEXEC, 0)
	}
	return calls
}

// TestOpenat2EAGAINRetries checks both bounds of openat2InRoot's retries:
// EAGAIN is retried at least openat2MaxRetries times and for at least
// openat2Deadline, and a storm that never ends still returns EAGAIN.
func TestOpenat2EAGAINRetries(t *testing.T) {
	rootfd, err := unix.Open(t.TempDir(), unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(rootfd)
	open := func(t *testing.T) error {
		fd, err := openat2InRoot(rootfd, "a/../b", unix.O_PATH)
		if err == nil {
			unix.Close(fd)
		}
		return err
	}

	t.Run("fast storm", func(t *testing.T) {
		// The deadline alone would allow many more quick attempts; the
		// count ends this storm's retries.
		calls := fakeOpenat2(t, openat2MaxRetries, nil)
		if err := open(t); err != nil {
			t.Fatalf("EAGAIN %d times then success: %v", openat2MaxRetries, err)
		}
		if *calls != openat2MaxRetries+1 {
			t.Fatalf("%d calls, want %d", *calls, openat2MaxRetries+1)
		}
	})
	t.Run("descheduled", func(t *testing.T) {
		// The first attempt is held past the deadline, as a preempted
		// thread on a loaded machine is: the retries still happen.
		calls := fakeOpenat2(t, 10, map[int]time.Duration{1: 2 * openat2Deadline})
		if err := open(t); err != nil {
			t.Fatalf("EAGAIN 10 times, one slow, then success: %v", err)
		}
		if *calls != 11 {
			t.Fatalf("%d calls, want 11", *calls)
		}
	})
	t.Run("endless storm", func(t *testing.T) {
		calls := fakeOpenat2(t, 1<<30, nil)
		if err := open(t); !errors.Is(err, unix.EAGAIN) {
			t.Fatalf("endless EAGAIN: %v, want EAGAIN", err)
		}
		if *calls < openat2MaxRetries+1 {
			t.Fatalf("gave up after %d calls, want at least %d", *calls, openat2MaxRetries+1)
		}
	})
	t.Run("no downgrade", func(t *testing.T) {
		// A storm an attacker can cause must not move a Root onto the
		// emulated walker, which would open this existing path.
		dir := t.TempDir()
		if err := os.Mkdir(filepath.Join(dir, "d"), 0o755); err != nil {
			t.Fatal(err)
		}
		r, err := OpenRootWithOptions(dir, RootOptions{Resolver: ResolverAuto})
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		fakeOpenat2(t, 1<<30, nil)
		fd, err := r.openInRoot("d/../d", unix.O_PATH)
		if err == nil {
			unix.Close(fd)
		}
		if !errors.Is(err, unix.EAGAIN) {
			t.Fatalf("openInRoot under an endless EAGAIN storm: %v, want EAGAIN", err)
		}
	})
}
