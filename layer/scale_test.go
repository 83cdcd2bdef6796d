package layer

import (
	"archive/tar"
	"context"
	"fmt"
	"io"
	"os"
	"runtime"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/safeunpack/safeunpack/internal/testutil"
	"github.com/safeunpack/safeunpack/pathrs"
)

// millionEntries is the size of the scale test's layer (threats.md T38,
// performance.md's 1,000,000-empty-file case).
const millionEntries = 1_000_000

// streamLayer writes a layer of dirs×files empty files, generated on the
// fly into a pipe, so the test itself holds no 512 MB archive.
func streamLayer(t testing.TB, prefix string, dirs, files int) io.Reader {
	pr, pw := io.Pipe()
	go func() {
		w := tar.NewWriter(pw)
		uid, gid := os.Geteuid(), os.Getegid()
		var err error
		for d := 0; d < dirs && err == nil; d++ {
			dir := fmt.Sprintf("%sd%04d", prefix, d)
			if dirs > 1 {
				err = w.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: dir, Mode: 0o755, Uid: uid, Gid: gid, ModTime: testutil.TarTime})
			} else {
				dir = prefix + "flat"
			}
			for f := 0; f < files && err == nil; f++ {
				err = w.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: fmt.Sprintf("%s/f%06d", dir, f), Mode: 0o644,
					Uid: uid, Gid: gid, ModTime: testutil.TarTime})
			}
		}
		if err == nil {
			err = w.Close()
		}
		pw.CloseWithError(err)
	}()
	return pr
}

// TestMillionEntries applies a layer of one million empty files, once
// spread over new directories and once all in one pre-existing, non-empty
// directory (the worst case of the same-layer bookkeeping), and reports the
// heap and peak RSS. It needs a fast filesystem: set SAFEUNPACK_BENCH_DIR
// to a tmpfs (see bench_test.go).
func TestMillionEntries(t *testing.T) {
	testutil.RequireLong(t)
	base := os.Getenv("SAFEUNPACK_BENCH_DIR")
	if base == "" {
		t.Skip("set SAFEUNPACK_BENCH_DIR to a tmpfs to run the million-entry test (minutes on a disk)")
	}
	for _, c := range []struct {
		name        string
		dirs, files int
		lower       []string
	}{
		{"new-dirs", 1000, 1000, nil},
		{"one-lower-dir", 1, millionEntries, []string{"dir flat", "file flat/lower"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir, err := os.MkdirTemp(base, "million-")
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = os.RemoveAll(dir) })
			testutil.MakeTree(t, dir, c.lower...)
			runtime.GC()
			var before runtime.MemStats
			runtime.ReadMemStats(&before)
			r, err := Apply(context.Background(), openRoot(t, dir, pathrs.ResolverAuto), streamLayer(t, "", c.dirs, c.files), Options{})
			if err != nil {
				t.Fatal(err)
			}
			var after runtime.MemStats
			runtime.ReadMemStats(&after)
			var ru unix.Rusage
			_ = unix.Getrusage(unix.RUSAGE_SELF, &ru)
			t.Logf("%d entries; heap in use %d MiB after (%d before); peak RSS of the test process %d MiB",
				r.Entries, after.HeapInuse>>20, before.HeapInuse>>20, ru.Maxrss>>10)
			if r.Counts.Files != millionEntries {
				t.Errorf("files %d", r.Counts.Files)
			}
			if after.HeapInuse > before.HeapInuse+128<<20 {
				t.Errorf("heap grew by %d MiB, want under 128", (after.HeapInuse-before.HeapInuse)>>20)
			}
		})
	}
}
