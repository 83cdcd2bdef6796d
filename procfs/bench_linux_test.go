package procfs

import (
	"os"
	"strconv"
	"testing"

	"golang.org/x/sys/unix"
)

// BenchmarkBuildHandle measures building and verifying each kind of handle
// (what every operation pays when no handle can be cached).
func BenchmarkBuildHandle(b *testing.B) {
	for _, r := range ladder {
		for _, subset := range []bool{true, false} {
			if !subset && r != RungFsopen {
				continue // Only fsopen has a masked and an unmasked kind.
			}
			name := r.String()
			if r == RungFsopen && !subset {
				name += "-unmasked"
			}
			b.Run(name, func(b *testing.B) {
				if h, err := buildRung(r, subset); err != nil {
					b.Skipf("%s rung unavailable here: %v", r, err)
				} else {
					_ = h.Close()
				}
				for b.Loop() {
					h, err := buildRung(r, subset)
					if err != nil {
						b.Fatal(err)
					}
					_ = h.Close()
				}
			})
		}
	}
	b.Run("ladder-uncached", func(b *testing.B) {
		for b.Loop() {
			h, err := buildHandle(true)
			if err != nil {
				b.Fatal(err)
			}
			_ = h.Close()
		}
	})
}

// BenchmarkOpen measures a cached Open of self/status with each resolver,
// against the naive os.Open it replaces.
func BenchmarkOpen(b *testing.B) {
	b.Run("naive-os.Open", func(b *testing.B) {
		for b.Loop() {
			f, err := os.Open("/proc/self/status")
			if err != nil {
				b.Fatal(err)
			}
			_ = f.Close()
		}
	})
	for _, v := range variants[:2] {
		b.Run(v.name, func(b *testing.B) {
			v.apply(b)
			resetCache(b)
			for b.Loop() {
				f, err := Open(ProcSelf, "status", unix.O_RDONLY)
				if err != nil {
					b.Fatal(err)
				}
				_ = f.Close()
			}
		})
	}
}

// BenchmarkFdPath measures FdPath with the cached handle, against the naive
// os.Readlink it replaces.
func BenchmarkFdPath(b *testing.B) {
	f, err := os.Open(os.Args[0])
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	fd := int(f.Fd())
	b.Run("naive-os.Readlink", func(b *testing.B) {
		p := "/proc/thread-self/fd/" + strconv.Itoa(fd)
		for b.Loop() {
			if _, err := os.Readlink(p); err != nil {
				b.Fatal(err)
			}
		}
	})
	for _, v := range variants[:2] {
		b.Run(v.name, func(b *testing.B) {
			v.apply(b)
			resetCache(b)
			for b.Loop() {
				if _, err := FdPath(fd); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkReopen measures upgrading an O_PATH fd with the cached handle.
func BenchmarkReopen(b *testing.B) {
	fd, err := unix.Open(os.Args[0], unix.O_PATH|unix.O_CLOEXEC, 0)
	if err != nil {
		b.Fatal(err)
	}
	defer unix.Close(fd)
	resetCache(b)
	for b.Loop() {
		f, err := Reopen(fd, unix.O_RDONLY)
		if err != nil {
			b.Fatal(err)
		}
		_ = f.Close()
	}
}

// BenchmarkReadIDMap measures reading and validating uid_map.
func BenchmarkReadIDMap(b *testing.B) {
	resetCache(b)
	for b.Loop() {
		if _, err := ReadIDMap(0, "uid_map"); err != nil {
			b.Fatal(err)
		}
	}
}
