package unpack

import (
	"errors"
	"runtime"
	"testing"
)

func TestParsePlatform(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"linux/amd64", "linux/amd64", true},
		{"linux/x86_64", "linux/amd64", true},
		{"Linux/AMD64", "linux/amd64", true},
		{"linux/aarch64", "linux/arm64", true},
		{"linux/arm64/v8", "linux/arm64", true},
		{"linux/arm", "linux/arm/v7", true},
		{"linux/arm/6", "linux/arm/v6", true},
		{"linux/armhf", "linux/arm/v7", true},
		{"linux/amd64/v3", "linux/amd64/v3", true},
		{"linux", "", false},
		{"linux/", "", false},
		{"/amd64", "", false},
		{"linux/arm/v7/x", "", false},
		{"linux/ amd64", "", false},
	}
	for _, tc := range tests {
		got, err := ParsePlatform(tc.in)
		if !tc.ok {
			if !errors.Is(err, ErrInvalidOptions) {
				t.Errorf("ParsePlatform(%q): got err %v, want ErrInvalidOptions", tc.in, err)
			}
			continue
		}
		if err != nil || got.String() != tc.want {
			t.Errorf("ParsePlatform(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

func TestPlatformScore(t *testing.T) {
	p := func(s string) Platform {
		v, err := ParsePlatform(s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	tests := []struct {
		want, have string
		match      bool
	}{
		{"linux/amd64", "linux/amd64", true},
		{"linux/amd64", "linux/arm64", false},
		{"linux/amd64", "windows/amd64", false},
		{"linux/arm64", "linux/arm64/v8", true},
		{"linux/arm/v7", "linux/arm/v6", true},
		{"linux/arm/v6", "linux/arm/v7", false},
		{"linux/amd64", "linux/amd64/v3", true},
		{"linux/amd64/v2", "linux/amd64/v3", false},
	}
	for _, tc := range tests {
		if got := platformScore(p(tc.want), p(tc.have)) > 0; got != tc.match {
			t.Errorf("platformScore(%s, %s) > 0 = %v, want %v", tc.want, tc.have, got, tc.match)
		}
	}
	// An exact variant beats a lower one.
	if platformScore(p("linux/arm/v7"), p("linux/arm/v7")) <= platformScore(p("linux/arm/v7"), p("linux/arm/v6")) {
		t.Error("exact arm variant does not rank above a lower one")
	}
	if h := HostPlatform(); h.OS != runtime.GOOS {
		t.Errorf("HostPlatform().OS = %q, want %q", h.OS, runtime.GOOS)
	}
}
