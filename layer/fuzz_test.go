package layer

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/safeunpack/safeunpack/internal/testutil"
	"github.com/safeunpack/safeunpack/pathrs"
	"github.com/safeunpack/safeunpack/procfs"
)

var warmProcfs sync.Once

// fuzzLimits keep each fuzz iteration small and fast; the property is that
// they hold whatever the input.
var fuzzLimits = Limits{
	MaxBytes:        1 << 20,
	MaxEntries:      256,
	MaxHeaderSize:   64 << 10,
	ZstdMaxWindow:   1 << 20,
	MaxTrackedPaths: 4096,
}

// fuzzLower is what earlier hostile layers left in the root: symlinks out
// of it (absolute and relative), a hard-link pair, a FIFO and a directory
// with content, so that fuzzed whiteouts, replacements and writes meet
// them.
var fuzzLower = []string{
	"dir etc", "file etc/passwd 0644 root", "hardlink etc/shadow -> etc/passwd",
	"symlink host -> $T/victim", "symlink up -> ../../../victim", "symlink loop -> loop",
	"symlink etc/self -> /etc", "fifo pipe", "dir dest-evil",
}

// FuzzApply applies arbitrary bytes as a layer onto a root that earlier
// hostile layers populated, alternating pathrs backends, and asserts: no
// panic; every error is an *EntryError; nothing outside the root changed
// (the canary, INV-1..3); no descriptor or goroutine leaked (INV-4); and
// the limits held: uncompressed bytes, entries, and bytes on disk
// (INV-5). Seeds: archive/tar's own corpus ($GOROOT/src/archive/tar/
// testdata, decoded; see goTestdataSeeds) and every layer of the hostile
// suite, plain and compressed.
func FuzzApply(f *testing.F) {
	for _, data := range goTestdataSeeds(f) {
		f.Add(data)
	}
	for _, data := range hostileSeeds(f) {
		f.Add(data)
	}
	f.Add(gzipBytes(f, sampleLayer(f)))
	f.Add(zstdBytes(f, sampleLayer(f)))
	f.Fuzz(func(t *testing.T, data []byte) {
		c := testutil.NewCanary(t)
		testutil.MakeTree(t, c.Root, fuzzLower...)
		c.Refresh(t)
		res := backends[len(data)%len(backends)].resolver
		root := openRoot(t, c.Root, res)
		fds := countFds()
		r, err := Apply(context.Background(), root, bytes.NewReader(data), Options{Limits: fuzzLimits})
		if err != nil {
			if _, ok := errors.AsType[*EntryError](err); !ok {
				t.Fatalf("Apply: error %v is a %T, want *EntryError", err, err)
			}
		} else if r.UncompressedBytes > fuzzLimits.MaxBytes || r.Entries > fuzzLimits.MaxEntries {
			t.Fatalf("limits exceeded: %+v", r)
		}
		if n := countFds(); n != fds {
			t.Errorf("descriptors: %d before, %d after", fds, n)
		}
		c.Check(t)
		if used := diskBytes(t, c.Root); used > fuzzLimits.MaxBytes+1<<20 {
			t.Errorf("%d bytes on disk under the root, limit %d", used, fuzzLimits.MaxBytes)
		}
	})
}

// hostileSeeds returns every layer of the hostile suite, built against a
// scratch canary.
func hostileSeeds(f *testing.F) [][]byte {
	c := &testutil.Canary{Base: f.TempDir()}
	c.Root = filepath.Join(c.Base, "dest")
	c.Victim = filepath.Join(c.Base, "victim")
	c.Hello = filepath.Join(c.Victim, "hello")
	c.Sibling = filepath.Join(c.Base, "dest-evil")
	var out [][]byte
	for _, cases := range [][]hostileCase{containerdCases(), mobyCases(), umociCases(), threatNameCases(),
		threatLinkCases(), threatTypeCases()} {
		for _, tc := range cases {
			if tc.name == "T07/deep-chain" {
				continue // large; the fuzzer gains nothing from it
			}
			out = append(out, tc.layers(f, c)...)
		}
	}
	return out
}

// countFds counts the open descriptors of the process without /proc: the
// fds below a bound that answer F_GETFD. The first call warms procfs's
// process-wide handle cache (the emulated resolver builds it at its first
// ".." check and keeps it on purpose), so that it is not counted as a leak.
func countFds() int {
	warmProcfs.Do(func() {
		if f, err := os.Open("."); err == nil {
			_, _ = procfs.FdPath(int(f.Fd()))
			_ = f.Close()
		}
	})
	n := 0
	for fd := range 4096 {
		if _, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0); err == nil {
			n++
		}
	}
	return n
}

// diskBytes sums the allocated size of regular files under dir.
func diskBytes(t testing.TB, dir string) int64 {
	var total int64
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return nil
		}
		var st unix.Stat_t
		if unix.Lstat(p, &st) == nil {
			total += st.Blocks * 512
		}
		return nil
	})
	return total
}

// settledGoroutines waits up to a second for the goroutine count to fall to
// want and returns the count it saw last.
func settledGoroutines(want int) int {
	deadline := time.Now().Add(time.Second)
	n := runtime.NumGoroutine()
	for n > want && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
		n = runtime.NumGoroutine()
	}
	return n
}

// TestFuzzSeeds runs the seeds with both backends as an ordinary test (go
// test runs f.Fuzz seeds too, but on one backend each) and checks that no
// descriptor or goroutine outlives Apply on any of their error paths.
func TestFuzzSeeds(t *testing.T) {
	seeds := goTestdataSeeds(t)
	forEachBackend(t, func(t *testing.T, res pathrs.Resolver) {
		for name, data := range seeds {
			root := openRoot(t, t.TempDir(), res)
			fds, goroutines := countFds(), runtime.NumGoroutine()
			_, err := Apply(context.Background(), root, bytes.NewReader(data), Options{Limits: fuzzLimits, Rootless: os.Geteuid() != 0})
			// A stream goroutine has called wg.Done when Apply returns but
			// may not have exited yet: allow it a moment, not a leak.
			if n := settledGoroutines(goroutines); n > goroutines {
				t.Errorf("%s: goroutines %d before, %d after", name, goroutines, n)
			}
			if err != nil {
				if _, ok := errors.AsType[*EntryError](err); !ok {
					t.Errorf("%s: error %v is a %T, want *EntryError", name, err, err)
				}
			}
			if n := countFds(); n != fds {
				t.Errorf("%s: descriptors %d before, %d after", name, fds, n)
			}
		}
	})
}
