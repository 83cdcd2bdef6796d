package unpack

import (
	"errors"
	"testing"
)

func TestCheckGunzipOutside(t *testing.T) {
	cases := []struct {
		program, target string
		ok              bool
	}{
		{"/usr/bin/igzip", "/srv/bundle", true},
		{"", "/srv/bundle", true},
		{"/srv/bundle/rootfs/usr/bin/igzip", "/srv/bundle", false},
		{"/srv/bundle", "/srv/bundle", false},
		{"/srv/bundle2/igzip", "/srv/bundle", true},
		{"usr/bin/igzip", "/srv/bundle", false},
	}
	for _, tc := range cases {
		o := Options{GunzipPath: tc.program}
		err := o.checkGunzipOutside(tc.target)
		if tc.ok != (err == nil) {
			t.Errorf("checkGunzipOutside(%q in %q): got %v, want ok=%v", tc.program, tc.target, err, tc.ok)
		}
		if err != nil && !errors.Is(err, ErrInvalidOptions) {
			t.Errorf("error %v is not ErrInvalidOptions", err)
		}
	}
}
