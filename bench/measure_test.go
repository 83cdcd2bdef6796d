//go:build linux

package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func testRunner(t *testing.T) *runner {
	t.Helper()
	rn, err := newRunner(time.Minute, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rn.Close() })
	return rn
}

// TestRunFailure checks that a failing tool's error carries its output.
func TestRunFailure(t *testing.T) {
	rn := testRunner(t)
	fail := &tool{name: "fail", kind: decompressOnly, argv: func(runInput) []string {
		return []string{"sh", "-c", "echo first line >&2; echo 'bad layer' >&2; exit 3"}
	}}
	_, err := rn.run(t.Context(), fail, runInput{}, nil)
	if err == nil || !strings.Contains(err.Error(), "exit status 3") || !strings.Contains(err.Error(), "bad layer") {
		t.Errorf("err = %v, want exit status 3 with the tool's output", err)
	}
}

// TestRunMeasuresTheTool checks the GNU time launcher: a tool touching
// 64 MiB reports at least that, and a tiny one far less than this test
// process has allocated (the RSS the kernel would wrongly attribute to a
// direct child).
func TestRunMeasuresTheTool(t *testing.T) {
	rn := testRunner(t)
	if rn.rssFile == "" {
		t.Skip("GNU time is not installed: peak RSS is not measured")
	}
	ballast := make([]byte, 256<<20)
	for i := range ballast {
		ballast[i] = 1
	}
	target := filepath.Join(t.TempDir(), "target")
	in := runInput{target: target}
	small := &tool{name: "true", kind: intoRootfs, argv: func(in runInput) []string { return []string{"true"} }}
	s, err := rn.run(t.Context(), small, in, nil)
	if err != nil {
		t.Fatal(err)
	}
	if s.MaxRSS <= 0 || s.MaxRSS > 32<<20 {
		t.Errorf("true: peak RSS %d bytes, want (0, 32 MiB]", s.MaxRSS)
	}
	big := &tool{name: "head", kind: decompressOnly, argv: func(runInput) []string {
		return []string{"sh", "-c", "head -c 64M /dev/zero | tail -c 64M > /dev/null"}
	}}
	if s, err = rn.run(t.Context(), big, in, nil); err != nil {
		t.Fatal(err)
	}
	if s.MaxRSS < 60<<20 {
		t.Errorf("tail -c 64M: peak RSS %d bytes, want >= 60 MiB", s.MaxRSS)
	}
	if _, err := os.Stat(target); !os.IsNotExist(err) {
		t.Errorf("target left behind after the run: %v", err)
	}
	_ = ballast[len(ballast)-1]
}
