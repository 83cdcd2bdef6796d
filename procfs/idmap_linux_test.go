package procfs

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/safeunpack/safeunpack/internal/testutil"
)

// formatIDMap writes ranges the way the kernel prints them.
func formatIDMap(ranges []IDRange) string {
	var b strings.Builder
	for _, r := range ranges {
		fmt.Fprintf(&b, "%10d %10d %10d\n", r.ContainerID, r.HostID, r.Size)
	}
	return b.String()
}

func TestParseIDMap(t *testing.T) {
	many := strings.Repeat("", 0)
	for i := range maxIDMapLines {
		many += fmt.Sprintf("%d %d 1\n", i, 1000+i)
	}
	for _, tc := range []struct {
		name string
		data string
		want []IDRange // nil: ErrInvalidIDMap expected
	}{
		{"init-userns", "         0          0 4294967295\n", []IDRange{{0, 0, 4294967295}}},
		{"rootless", "         0       1000          1\n         1     100000      65536\n",
			[]IDRange{{0, 1000, 1}, {1, 100000, 65536}}},
		{"unpadded", "0 1000 1\n", []IDRange{{0, 1000, 1}}},
		{"max-lines", many, nil /* checked below */},
		{"too-many-lines", many + "9999 99999 1\n", nil},
		{"empty", "", nil},
		{"unterminated", "0 0 1", nil},
		{"blank-line", "0 0 1\n\n", nil},
		{"two-fields", "0 0\n", nil},
		{"four-fields", "0 0 1 1\n", nil},
		{"tab", "0\t0\t1\n", nil},
		{"sign", "+0 0 1\n", nil},
		{"negative", "-1 0 1\n", nil},
		{"leading-zero", "00 0 1\n", nil},
		{"hex", "0x0 0 1\n", nil},
		{"too-big", "4294967296 0 1\n", nil},
		{"zero-size", "0 0 0\n", nil},
		{"container-overflow", "4294967295 0 2\n", nil},
		{"host-overflow", "0 4294967295 2\n", nil},
		{"edge-no-overflow", "4294967295 4294967295 1\n", []IDRange{{4294967295, 4294967295, 1}}},
		{"container-overlap", "0 1000 10\n5 2000 10\n", nil},
		{"host-overlap", "0 1000 10\n100 1005 10\n", nil},
		{"host-overlap-unsorted", "100 1005 10\n0 1000 10\n", nil},
		{"adjacent", "0 1000 10\n10 1010 10\n", []IDRange{{0, 1000, 10}, {10, 1010, 10}}},
		{"nul", "0 0 1\x00\n", nil},
	} {
		got, err := parseIDMap([]byte(tc.data))
		if tc.name == "max-lines" {
			if err != nil || len(got) != maxIDMapLines {
				t.Errorf("parseIDMap(%s): got %d ranges, err %v; want %d", tc.name, len(got), err, maxIDMapLines)
			}
			continue
		}
		if tc.want == nil {
			if !errors.Is(err, ErrInvalidIDMap) || !errors.Is(err, unix.EINVAL) {
				t.Errorf("parseIDMap(%s): got %v, err %v; want ErrInvalidIDMap", tc.name, got, err)
			}
			continue
		}
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("parseIDMap(%s): got %v, err %v; want %v", tc.name, got, err, tc.want)
		}
	}
}

// FuzzParseIDMap checks that parsing never panics and that whatever it
// accepts is valid and round-trips through the kernel's format.
func FuzzParseIDMap(f *testing.F) {
	for _, seed := range []string{
		"         0          0 4294967295\n",
		"0 1000 1\n1 100000 65536\n",
		"0 0 0\n", "4294967295 0 2\n", "0 1000 10\n5 2000 10\n", "", "\n", "1 2 3",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		ranges, err := parseIDMap(data)
		if err != nil {
			if !errors.Is(err, ErrInvalidIDMap) {
				t.Fatalf("parseIDMap error %v does not match ErrInvalidIDMap", err)
			}
			return
		}
		if len(ranges) == 0 || len(ranges) > maxIDMapLines {
			t.Fatalf("accepted %d ranges", len(ranges))
		}
		for i, a := range ranges {
			if a.Size == 0 || uint64(a.ContainerID)+uint64(a.Size) > 1<<32 || uint64(a.HostID)+uint64(a.Size) > 1<<32 {
				t.Fatalf("accepted invalid range %+v", a)
			}
			for _, b := range ranges[i+1:] {
				if overlap(a.ContainerID, a.Size, b.ContainerID, b.Size) || overlap(a.HostID, a.Size, b.HostID, b.Size) {
					t.Fatalf("accepted overlapping ranges %+v and %+v", a, b)
				}
			}
		}
		again, err := parseIDMap([]byte(formatIDMap(ranges)))
		if err != nil || !slices.Equal(again, ranges) {
			t.Fatalf("round trip: got %v, %v; want %v", again, err, ranges)
		}
	})
}

func overlap(a, an, b, bn uint32) bool {
	return uint64(a) < uint64(b)+uint64(bn) && uint64(b) < uint64(a)+uint64(an)
}

// TestReadIDMap reads this process's real maps, directly and in a user
// namespace, where the map is the single line the parent wrote.
func TestReadIDMap(t *testing.T) {
	withReexec(t, testReadIDMap, testutil.InUserNS)
}

func testReadIDMap(t *testing.T) {
	want := []IDRange{{0, 0, 4294967295}} // The initial user namespace.
	if testutil.ReexecChild() == testutil.InUserNS || testutil.ReexecChild() == testutil.InUserMountNS {
		want = []IDRange{{0, testutil.NobodyID, 1}}
	}
	forEachVariant(t, func(t *testing.T) {
		for _, which := range []string{"uid_map", "gid_map"} {
			for _, pid := range []int{0, os.Getpid()} {
				got, err := ReadIDMap(pid, which)
				if err != nil || !slices.Equal(got, want) {
					t.Errorf("ReadIDMap(%d, %s): got %v, err %v; want %v", pid, which, got, err, want)
				}
			}
		}
	})
	for _, tc := range []struct {
		pid   int
		which string
	}{{0, "setgroups"}, {0, "../uid_map"}, {-1, "uid_map"}, {0, ""}} {
		if _, err := ReadIDMap(tc.pid, tc.which); !errors.Is(err, unix.EINVAL) {
			t.Errorf("ReadIDMap(%d, %q): got err %v, want EINVAL", tc.pid, tc.which, err)
		}
	}
}
