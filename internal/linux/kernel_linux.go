package linux

import (
	"sync"

	"golang.org/x/sys/unix"
)

// kernelVersion is computed once: the running kernel cannot change.
var kernelVersion = sync.OnceValues(func() (int, int) {
	var uts unix.Utsname
	if err := unix.Uname(&uts); err != nil {
		return 0, 0
	}
	return parseKernelRelease(unix.ByteSliceToString(uts.Release[:]))
})

// KernelVersion returns the major and minor version of the running kernel,
// or (0, 0) when uname(2) fails or its release string does not start with
// "<major>.<minor>" (as $GOROOT/src/internal/syscall/unix/kernel_version_linux.go
// does).
func KernelVersion() (major, minor int) { return kernelVersion() }

// KernelAtLeast reports whether the running kernel is at least major.minor.
// An unknown version counts as older than every release, so callers that
// gate a feature on it fail closed.
func KernelAtLeast(major, minor int) bool {
	maj, mnr := KernelVersion()
	return maj > major || (maj == major && mnr >= minor)
}

// parseKernelRelease parses the leading "<major>.<minor>" of a uname release
// such as "6.18.44-fc-v595". It returns (0, 0) on anything else.
func parseKernelRelease(rel string) (int, int) {
	var v [2]int
	i := 0
	for n := range v {
		start := i
		for i < len(rel) && rel[i] >= '0' && rel[i] <= '9' && i-start < 6 {
			v[n] = v[n]*10 + int(rel[i]-'0')
			i++
		}
		if i == start {
			return 0, 0
		}
		if n == 0 {
			if i >= len(rel) || rel[i] != '.' {
				return 0, 0
			}
			i++
		}
	}
	return v[0], v[1]
}
