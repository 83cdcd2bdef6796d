package linux

import "testing"

func TestParseKernelRelease(t *testing.T) {
	for _, tc := range []struct {
		rel        string // uname release string
		maj, minor int    // expected result; (0, 0) means unparseable
	}{
		{"6.18.44-fc-v595", 6, 18},
		{"5.2.0", 5, 2},
		{"4.18.0-553.el8_10.x86_64", 4, 18},
		{"3.10", 3, 10},
		{"6", 0, 0},
		{"6.", 0, 0},
		{".18", 0, 0},
		{"", 0, 0},
		{"v6.1", 0, 0},
		{"99999999.1", 0, 0},
	} {
		maj, mnr := parseKernelRelease(tc.rel)
		if maj != tc.maj || mnr != tc.minor {
			t.Errorf("parseKernelRelease(%q): got %d.%d, want %d.%d", tc.rel, maj, mnr, tc.maj, tc.minor)
		}
	}
}

func TestKernelAtLeast(t *testing.T) {
	maj, mnr := KernelVersion()
	if maj == 0 {
		t.Skip("uname release not parseable on this machine")
	}
	if !KernelAtLeast(maj, mnr) || !KernelAtLeast(maj-1, 0) {
		t.Errorf("KernelAtLeast: running %d.%d is not at least itself or %d.0", maj, mnr, maj-1)
	}
	if KernelAtLeast(maj+1, 0) || KernelAtLeast(maj, mnr+1) {
		t.Errorf("KernelAtLeast: running %d.%d reported as newer than itself", maj, mnr)
	}
}
