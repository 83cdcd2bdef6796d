package procfs

import (
	"bytes"
	"cmp"
	"fmt"
	"os"
	"slices"
	"strconv"

	"golang.org/x/sys/unix"
)

// IDRange is one line of a uid_map or gid_map: Size ids starting at
// ContainerID inside the user namespace map to Size ids starting at HostID
// in the parent namespace.
type IDRange struct {
	ContainerID uint32
	HostID      uint32
	Size        uint32
}

const (
	// maxIDMapLines is UID_GID_MAP_MAX_EXTENTS, the most lines the kernel
	// accepts in a map since Linux 4.15 (5 before).
	maxIDMapLines = 340
	// maxIDMapSize bounds the read: the kernel prints each line as
	// "%10u %10u %10u\n" (33 bytes), 340 lines are 11220 bytes.
	maxIDMapSize = 16 << 10
)

// ReadIDMap reads /proc/<pid>/uid_map or gid_map (pid 0 is the calling
// process; which is "uid_map" or "gid_map") through a verified handle and
// returns its validated ranges. Effectively it is
// os.ReadFile("/proc/self/uid_map") plus parsing, but a tmpfs file or
// /dev/null mounted over the naive path can make a rootless process believe
// it is real root (threats.md section 2), and here such a mount is refused
// with [ErrUnsafeProcfs].
//
// The map must be exactly what the kernel writes: 1 to 340 lines of three
// decimal fields, no range empty or running past 2^32-1, and no two ranges
// overlapping on either side; otherwise the error matches [ErrInvalidIDMap].
// An empty map (a user namespace whose map was not written yet, in which no
// id is usable) is reported as ErrInvalidIDMap too. Errors are
// *os.PathError.
func ReadIDMap(pid int, which string) ([]IDRange, error) {
	base := ProcSelf
	if pid != 0 {
		base = ProcPid(pid)
	}
	if which != "uid_map" && which != "gid_map" || pid < 0 {
		return nil, &os.PathError{Op: "read", Path: base.display(which), Err: unix.EINVAL}
	}
	h, err := defaultHandle()
	if err != nil {
		return nil, &os.PathError{Op: "read", Path: base.display(which), Err: err}
	}
	defer h.releaseTemp()
	return h.readIDMap(base, which)
}

// readIDMap reads and validates the map which of base through h.
func (h *Handle) readIDMap(base Base, which string) ([]IDRange, error) {
	f, err := h.Open(base, which, unix.O_RDONLY)
	if err != nil {
		return nil, err
	}
	defer f.Close() //nolint:errcheck // read-only
	buf := make([]byte, maxIDMapSize+1)
	n, err := readFull(int(f.Fd()), buf)
	if err != nil {
		return nil, &os.PathError{Op: "read", Path: base.display(which), Err: err}
	}
	if n > maxIDMapSize {
		return nil, &os.PathError{Op: "read", Path: base.display(which),
			Err: fmt.Errorf("%w: larger than %d bytes", ErrInvalidIDMap, maxIDMapSize)}
	}
	ranges, err := parseIDMap(buf[:n])
	if err != nil {
		return nil, &os.PathError{Op: "read", Path: base.display(which), Err: err}
	}
	return ranges, nil
}

// parseIDMap parses and validates the text of a uid_map or gid_map.
func parseIDMap(data []byte) ([]IDRange, error) {
	invalid := func(format string, args ...any) error {
		return fmt.Errorf("%w: "+format, append([]any{ErrInvalidIDMap}, args...)...)
	}
	if len(data) == 0 {
		return nil, invalid("empty map")
	}
	if data[len(data)-1] != '\n' {
		return nil, invalid("last line not terminated")
	}
	lines := bytes.Split(data[:len(data)-1], []byte{'\n'})
	if len(lines) > maxIDMapLines {
		return nil, invalid("%d lines, the kernel allows %d", len(lines), maxIDMapLines)
	}
	ranges := make([]IDRange, 0, len(lines))
	for i, line := range lines {
		var f [3]uint32
		fields := bytes.Fields(line)
		if len(fields) != 3 || bytes.IndexFunc(line, func(r rune) bool { return r != ' ' && (r < '0' || r > '9') }) >= 0 {
			return nil, invalid("line %d: %q is not three decimal fields", i+1, line)
		}
		for j, field := range fields {
			v, ok := parseUint32(field)
			if !ok {
				return nil, invalid("line %d: field %q is not a 32-bit decimal", i+1, field)
			}
			f[j] = v
		}
		r := IDRange{ContainerID: f[0], HostID: f[1], Size: f[2]}
		switch {
		case r.Size == 0:
			return nil, invalid("line %d: empty range", i+1)
		case uint64(r.ContainerID)+uint64(r.Size) > 1<<32, uint64(r.HostID)+uint64(r.Size) > 1<<32:
			return nil, invalid("line %d: range runs past 2^32-1", i+1)
		}
		ranges = append(ranges, r)
	}
	if err := checkOverlap(ranges, func(r IDRange) uint32 { return r.ContainerID }); err != nil {
		return nil, invalid("container ids: %w", err)
	}
	if err := checkOverlap(ranges, func(r IDRange) uint32 { return r.HostID }); err != nil {
		return nil, invalid("host ids: %w", err)
	}
	return ranges, nil
}

// checkOverlap reports an error if two ranges overlap on the side start
// selects.
func checkOverlap(ranges []IDRange, start func(IDRange) uint32) error {
	sorted := slices.Clone(ranges)
	slices.SortFunc(sorted, func(a, b IDRange) int { return cmp.Compare(start(a), start(b)) })
	for i := 1; i < len(sorted); i++ {
		prev, cur := sorted[i-1], sorted[i]
		if uint64(start(prev))+uint64(prev.Size) > uint64(start(cur)) {
			return fmt.Errorf("ranges at %d and %d overlap", start(prev), start(cur))
		}
	}
	return nil
}

// parseUint32 parses a canonical decimal (no sign, no leading zero).
func parseUint32(b []byte) (uint32, bool) {
	if len(b) == 0 || len(b) > 10 || (len(b) > 1 && b[0] == '0') {
		return 0, false
	}
	v, err := strconv.ParseUint(string(b), 10, 32)
	return uint32(v), err == nil
}
