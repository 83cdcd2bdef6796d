package pathrs

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// benchTree makes a chain of depth directories and returns the root and the
// relative path of the deepest one.
func benchTree(b *testing.B, depth int) (root, rel string) {
	b.Helper()
	root = benchDir(b)
	parts := make([]string, depth)
	for i := range parts {
		parts[i] = "d" + itoa(i)
	}
	rel = strings.Join(parts, "/")
	if err := os.MkdirAll(filepath.Join(root, rel), 0o755); err != nil {
		b.Fatal(err)
	}
	return root, rel
}

// benchDir is a fresh directory for a benchmark, on tmpfs (/dev/shm) when
// there is one, so that numbers measure our code rather than a disk journal.
func benchDir(b *testing.B) string {
	b.Helper()
	var sfs unix.Statfs_t
	if unix.Statfs("/dev/shm", &sfs) == nil && sfs.Type == unix.TMPFS_MAGIC && unix.Access("/dev/shm", unix.W_OK) == nil {
		d, err := os.MkdirTemp("/dev/shm", "safeunpack-bench-")
		if err == nil {
			b.Cleanup(func() { _ = os.RemoveAll(d) })
			return d
		}
	}
	return b.TempDir()
}

// BenchmarkResolve: one O_PATH resolution of a directory at depth 1, 4, 16
// and 32, on both backends (performance.md §2 has the reference costs).
func BenchmarkResolve(b *testing.B) {
	for _, be := range backends {
		for _, depth := range []int{1, 4, 8, 16, 32} {
			b.Run(be.name+"/depth-"+itoa(depth), func(b *testing.B) {
				root, rel := benchTree(b, depth)
				r, err := OpenRootWithOptions(root, be.opts)
				if err != nil {
					b.Fatal(err)
				}
				defer r.Close()
				for b.Loop() {
					fd, err := r.openInRoot(rel, unix.O_PATH|unix.O_DIRECTORY)
					if err != nil {
						b.Fatal(err)
					}
					unix.Close(fd)
				}
			})
		}
	}
}

// entryTime is the mtime every benchmark entry gets.
var entryTime = time.Unix(1700000000, 123)

// writeEntry is one tar-like regular-file entry on an open descriptor:
// 4 KiB of data, owner, mode and times.
func writeEntry(b *testing.B, fd int, data []byte) {
	if _, err := unix.Write(fd, data); err != nil {
		b.Fatal(err)
	}
	if err := unix.Fchown(fd, os.Getuid(), os.Getgid()); err != nil {
		b.Fatal(err)
	}
	if err := unix.Fchmod(fd, 0o644); err != nil {
		b.Fatal(err)
	}
	ts := []unix.Timespec{unix.NsecToTimespec(entryTime.UnixNano()), unix.NsecToTimespec(entryTime.UnixNano())}
	if err := unix.UtimesNanoAt(fd, "", ts, unix.AT_EMPTY_PATH); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkEntry compares one tar-like entry (create, write 4 KiB, chown,
// chmod, utimes, close; then unlink to keep the directory small) done
// through pathrs with the same raw syscalls on an absolute, unchecked path:
//   - raw: open(absolute path) — the unsafe baseline;
//   - dir: a cached Dir handle, as an extractor does for consecutive entries;
//   - resolve-<backend>: the parent resolved per entry (a cache miss).
//
// All at depth 8. Goals (issue 3): dir and resolve-openat2 within 1.3x of
// raw; resolve-emulated within 3x.
func BenchmarkEntry(b *testing.B) {
	data := make([]byte, 4096)
	b.Run("raw", func(b *testing.B) {
		root, rel := benchTree(b, 8)
		p := filepath.Join(root, rel, "f")
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			fd, err := unix.Open(p, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_CLOEXEC, 0o644)
			if err != nil {
				b.Fatal(err)
			}
			writeEntry(b, fd, data)
			unix.Close(fd)
			if err := unix.Unlink(p); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("dir", func(b *testing.B) {
		root, rel := benchTree(b, 8)
		r, err := OpenRoot(root)
		if err != nil {
			b.Fatal(err)
		}
		defer r.Close()
		d, err := r.OpenDir(rel)
		if err != nil {
			b.Fatal(err)
		}
		defer d.Close()
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			f, err := d.CreateFile("f", unix.O_WRONLY, 0o644)
			if err != nil {
				b.Fatal(err)
			}
			writeEntry(b, int(f.Fd()), data)
			f.Close()
			if err := d.Remove("f"); err != nil {
				b.Fatal(err)
			}
		}
	})
	for _, be := range backends {
		b.Run("resolve-"+be.name, func(b *testing.B) {
			root, rel := benchTree(b, 8)
			r, err := OpenRootWithOptions(root, be.opts)
			if err != nil {
				b.Fatal(err)
			}
			defer r.Close()
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				d, name, err := r.ResolveParent(rel + "/f")
				if err != nil {
					b.Fatal(err)
				}
				f, err := d.CreateFile(name, unix.O_WRONLY, 0o644)
				if err != nil {
					b.Fatal(err)
				}
				writeEntry(b, int(f.Fd()), data)
				f.Close()
				if err := d.Remove(name); err != nil {
					b.Fatal(err)
				}
				d.Close()
			}
		})
	}
}
