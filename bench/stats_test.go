//go:build linux

package main

import (
	"math"
	"runtime"
	"testing"
	"time"
)

func TestSummarize(t *testing.T) {
	ss := []sample{
		{Wall: 3 * time.Second, User: time.Second, MaxRSS: 10},
		{Wall: 1 * time.Second, User: 2 * time.Second, MaxRSS: 30},
		{Wall: 2 * time.Second, User: 3 * time.Second, MaxRSS: 20},
		{Wall: 9 * time.Second, User: 4 * time.Second, MaxRSS: -1},
	}
	got := summarize(ss)
	want := summary{N: 4, Median: 2500 * time.Millisecond, Min: time.Second, Max: 9 * time.Second, CPU: 2500 * time.Millisecond, MaxRSS: 30}
	if got != want {
		t.Errorf("summarize = %+v, want %+v", got, want)
	}
	if got := summarize(ss[:3]).Median; got != 2*time.Second {
		t.Errorf("odd median = %v, want 2s", got)
	}
	if got := summarize([]sample{{Wall: time.Second, MaxRSS: -1}}).MaxRSS; got != -1 {
		t.Errorf("unknown RSS summarized as %d, want -1", got)
	}
}

func TestCommas(t *testing.T) {
	for n, want := range map[int64]string{0: "0", 999: "999", 1000: "1,000", 1001000: "1,001,000", -1234: "-1,234", -123: "-123"} {
		if got := commas(n); got != want {
			t.Errorf("commas(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestForeignLoad(t *testing.T) {
	cores := float64(runtime.NumCPU())
	before := cpuTimes{busy: 1000, total: 5000}
	after := cpuTimes{busy: 1000 + 3*clockTicks, total: 9000} // 3 s busy in all
	// A 2 s run whose tool used 1 s of CPU: others used 2 s of 2 s × cores.
	if got, want := foreignLoad(before, after, 2*time.Second, time.Second), 1/cores; math.Abs(got-want) > 1e-9 {
		t.Errorf("foreignLoad = %v, want %v", got, want)
	}
	// The tool's own CPU (rounded differently) may exceed the ticks: clamp.
	if got := foreignLoad(before, after, 2*time.Second, 4*time.Second); got != 0 {
		t.Errorf("foreignLoad with own > busy = %v, want 0", got)
	}
}
