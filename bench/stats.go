//go:build linux

package main

import (
	"slices"
	"time"
)

// summary condenses the samples of one tool on one data set.
type summary struct {
	N      int
	Median time.Duration
	Min    time.Duration
	Max    time.Duration
	CPU    time.Duration // median user+sys
	MaxRSS int64         // the largest over all runs; -1 if unknown
}

func summarize(ss []sample) summary {
	if len(ss) == 0 {
		return summary{}
	}
	wall := make([]time.Duration, len(ss))
	cpu := make([]time.Duration, len(ss))
	rss := int64(-1)
	for i, s := range ss {
		wall[i] = s.Wall
		cpu[i] = s.User + s.Sys
		rss = max(rss, s.MaxRSS)
	}
	return summary{
		N:      len(ss),
		Median: median(wall),
		Min:    slices.Min(wall),
		Max:    slices.Max(wall),
		CPU:    median(cpu),
		MaxRSS: rss,
	}
}

// median of d (the mean of the middle two for an even count); d is sorted
// in place.
func median(d []time.Duration) time.Duration {
	slices.Sort(d)
	n := len(d)
	if n%2 == 1 {
		return d[n/2]
	}
	return (d[n/2-1] + d[n/2]) / 2
}
