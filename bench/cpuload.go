//go:build linux

package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"runtime"
	"strconv"
	"time"

	"golang.org/x/sys/unix"

	"github.com/safeunpack/safeunpack/procfs"
)

// clockTicks is USER_HZ, the unit of /proc/stat (100 on every Linux ABI).
const clockTicks = 100

// Idle detection: a run starts once the whole machine was less than
// idleBusy busy over idleWindow, or after cfg.idleWait at most.
const (
	idleWindow = 250 * time.Millisecond
	idleBusy   = 0.10
)

// statReadLimit bounds the read of procfs stat: the aggregate line comes
// first, and the per-CPU lines of a large machine fit well within it.
const statReadLimit = 1 << 20

// cpuTimes is the aggregate line of /proc/stat, in ticks.
type cpuTimes struct {
	busy, total uint64
}

func readCPUTimes() (cpuTimes, error) {
	pf, err := procfs.Open(procfs.ProcRoot, "stat", unix.O_RDONLY)
	if err != nil {
		return cpuTimes{}, err
	}
	defer pf.Close()
	b, err := io.ReadAll(io.LimitReader(pf, statReadLimit))
	if err != nil {
		return cpuTimes{}, err
	}
	line, _, _ := bytes.Cut(b, []byte("\n"))
	f := bytes.Fields(line)
	if len(f) < 9 || string(f[0]) != "cpu" {
		return cpuTimes{}, errors.New("procfs stat: unexpected first line")
	}
	var v [8]uint64 // user nice system idle iowait irq softirq steal
	for i := range v {
		if v[i], err = strconv.ParseUint(string(f[i+1]), 10, 64); err != nil {
			return cpuTimes{}, err
		}
	}
	busy := v[0] + v[1] + v[2] + v[5] + v[6] + v[7]
	return cpuTimes{busy: busy, total: busy + v[3] + v[4]}, nil
}

// foreignLoad returns the share of the machine's CPU capacity that other
// processes used between before and after, given the tool's own CPU time.
func foreignLoad(before, after cpuTimes, wall, own time.Duration) float64 {
	if wall <= 0 || after.busy < before.busy {
		return 0
	}
	busy := time.Duration(after.busy-before.busy) * time.Second / clockTicks
	return max(0, (busy-own).Seconds()/(wall.Seconds()*float64(runtime.NumCPU())))
}

// idleWaiter delays runs until the machine is idle. After a wait has timed
// out it waits at most busyRetry until the machine is seen idle again, so a
// permanently busy machine costs one long wait, not one per run.
type idleWaiter struct {
	maxWait time.Duration
	gaveUp  bool
}

const busyRetry = 2 * time.Second

// wait returns the last measured busy share of the machine.
func (iw *idleWaiter) wait(ctx context.Context) float64 {
	if iw.maxWait <= 0 {
		return 0
	}
	limit := iw.maxWait
	if iw.gaveUp {
		limit = min(limit, busyRetry)
	}
	busy := waitIdle(ctx, limit)
	if gaveUp := busy >= idleBusy; gaveUp != iw.gaveUp {
		iw.gaveUp = gaveUp
		if gaveUp {
			logf("the machine is %.0f%% busy with other processes after %s: running anyway (the report flags disturbed runs)", 100*busy, limit)
		} else {
			logf("the machine is idle again")
		}
	}
	return busy
}

// waitIdle waits until the machine is idle (see idleBusy) or maxWait has
// passed, and returns the last measured busy share.
func waitIdle(ctx context.Context, maxWait time.Duration) float64 {
	deadline := time.Now().Add(maxWait)
	for {
		a, err := readCPUTimes()
		if err != nil {
			return 0
		}
		select {
		case <-ctx.Done():
			return 0
		case <-time.After(idleWindow):
		}
		b, err := readCPUTimes()
		if err != nil || b.total <= a.total {
			return 0
		}
		busy := float64(b.busy-a.busy) / float64(b.total-a.total)
		if busy < idleBusy || time.Now().After(deadline) {
			return busy
		}
	}
}
