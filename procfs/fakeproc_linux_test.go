package procfs

import (
	"errors"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/safeunpack/safeunpack/internal/testutil"
)

// TestFakeProc replaces /proc in a private mount namespace: the host rung
// and the open_tree rungs (which clone whatever is mounted at /proc) must
// refuse it, while a private fsopen instance is unaffected. It runs as root
// and as root of a user namespace, where fsopen is not allowed and the whole
// ladder must therefore fail with ErrUnsafeProcfs rather than accept the
// fake.
func TestFakeProc(t *testing.T) {
	withReexec(t, func(t *testing.T) {
		for _, tc := range []struct {
			name string
			fake func(t *testing.T)
		}{
			{"tmpfs", func(t *testing.T) {
				mountOrSkip(t, "tmpfs", "/proc", "tmpfs", 0, "")
				// Make it look like a /proc to a lookup that does not check.
				testutil.MakeTree(t, "/proc", "dir self", "file self/status 0444 Name: fake", "symlink thread-self -> self")
			}},
			{"procfs-subdir", func(t *testing.T) {
				// Real procfs, but not its root: a bind of /proc/self.
				mountOrSkip(t, "/proc/self", "/proc", "", unix.MS_BIND, "")
			}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				privateMountNS(t)
				resetCache(t)
				tc.fake(t)
				for _, r := range ladder[1:] {
					_, err := buildRung(r, true)
					if errors.Is(err, unix.EPERM) {
						t.Logf("%s rung unavailable here: %v", r, err)
						continue
					}
					wantUnsafe(t, "build "+r.String()+" on a fake /proc", err)
				}
				h, err := buildRung(RungFsopen, true)
				if errors.Is(err, unix.EPERM) {
					t.Logf("fsopen rung unavailable here: %v", err)
					_, err := OpenHandle()
					wantUnsafe(t, "OpenHandle with a fake /proc and no fsopen", err)
					_, err = Open(ProcSelf, "status", unix.O_RDONLY)
					wantUnsafe(t, "Open with a fake /proc and no fsopen", err)
					return
				}
				if err != nil {
					t.Fatalf("fsopen rung with a fake /proc: %v", err)
				}
				defer h.Close()
				checkHandle(t, h)
				d, err := OpenHandle()
				if err != nil {
					t.Fatalf("OpenHandle with a fake /proc: %v", err)
				}
				defer d.Close()
				if d.Rung() != RungFsopen {
					t.Errorf("OpenHandle with a fake /proc: got rung %s, want fsopen", d.Rung())
				}
				readSelfStatus(t)
			})
		}
	}, testutil.InUserNSRoot)
}
