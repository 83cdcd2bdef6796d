package unpack

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/safeunpack/safeunpack/layer"
)

// ParseIDMap parses one --uid-map or --gid-map value in umoci's syntax
// "C:H:S": S ids starting at container id C map to host ids starting at H.
// The three fields are decimal and fit 32 bits; S is at least 1. Whether a
// set of ranges is consistent (no overflow past 2^32-1, no overlap) is
// checked with the other options, before any I/O. Errors match
// [ErrInvalidOptions] and quote the value.
func ParseIDMap(s string) (layer.IDMap, error) {
	fields := strings.Split(s, ":")
	if len(fields) != 3 {
		return layer.IDMap{}, fmt.Errorf("%w: id map %q: want CONTAINER:HOST:SIZE, such as 0:100000:65536", ErrInvalidOptions, s)
	}
	var v [3]uint32
	for i, f := range fields {
		n, err := strconv.ParseUint(f, 10, 32)
		if err != nil || f == "" || f[0] == '+' {
			return layer.IDMap{}, fmt.Errorf("%w: id map %q: %q is not a number from 0 to %d", ErrInvalidOptions, s, f, uint32(1<<32-1))
		}
		v[i] = uint32(n)
	}
	if v[2] == 0 {
		return layer.IDMap{}, fmt.Errorf("%w: id map %q: size 0 maps nothing", ErrInvalidOptions, s)
	}
	return layer.IDMap{ContainerID: v[0], HostID: v[1], Size: v[2]}, nil
}

// ParseIDMaps parses the values of a repeatable --uid-map or --gid-map
// flag with [ParseIDMap], in order.
func ParseIDMaps(values []string) ([]layer.IDMap, error) {
	var out []layer.IDMap
	for _, s := range values {
		m, err := ParseIDMap(s)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, nil
}
