//go:build linux

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// sample is one timed run.
type sample struct {
	Wall time.Duration `json:"wall_ns"`
	User time.Duration `json:"user_ns"` // the tool and the children it waited for
	Sys  time.Duration `json:"sys_ns"`  //
	// MaxRSS is the tool's ru_maxrss as GNU time reports it: the largest
	// resident set of the tool and its waited-for children (a maximum, not
	// a sum); -1 if unknown.
	MaxRSS int64 `json:"max_rss_bytes"`
	// Foreign is the share of the machine's CPU capacity that other
	// processes used during the run (0.25: half a core of two).
	Foreign float64 `json:"foreign_load"`
}

// gnuTime is GNU time's path. Tools run under it because ru_maxrss is only
// accurate for a grandchild: os/exec starts children with CLONE_VM|
// CLONE_VFORK, and execve folds the old mm's high-water RSS (the harness's)
// into the child's maxrss (exec_mmap in fs/exec.c), so a direct child of
// the harness reports at least the harness's peak RSS.
const gnuTime = "/usr/bin/time"

// runner runs one tool at a time and measures it.
type runner struct {
	timeout time.Duration
	devNull *os.File
	output  *os.File // the current run's stdout and stderr, for errors
	rssFile string   // GNU time's report; "" without GNU time
}

func newRunner(timeout time.Duration, scratch string) (*runner, error) {
	devNull, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		return nil, err
	}
	output, err := os.CreateTemp(scratch, "output-")
	if err != nil {
		_ = devNull.Close()
		return nil, err
	}
	rn := &runner{timeout: timeout, devNull: devNull, output: output}
	if _, err := os.Stat(gnuTime); err == nil {
		rn.rssFile = output.Name() + ".rss"
	} else {
		logf("%s missing (apt-get install time): peak RSS is not reported", gnuTime)
	}
	return rn, nil
}

func (rn *runner) Close() error {
	_ = rn.devNull.Close()
	_ = rn.output.Close()
	if rn.rssFile != "" {
		_ = os.Remove(rn.rssFile)
	}
	return os.Remove(rn.output.Name())
}

// command returns argv wrapped in GNU time when it is available.
func (rn *runner) command(ctx context.Context, argv []string) *exec.Cmd {
	if rn.rssFile != "" {
		argv = append([]string{gnuTime, "-q", "-f", "%M", "-o", rn.rssFile}, argv...)
	}
	return exec.CommandContext(ctx, argv[0], argv[1:]...)
}

// maxRSS reads GNU time's report of the last run, in bytes, or -1.
func (rn *runner) maxRSS() int64 {
	if rn.rssFile == "" {
		return -1
	}
	b, err := os.ReadFile(rn.rssFile)
	if err != nil {
		return -1
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return -1
	}
	kib, err := strconv.ParseInt(f[len(f)-1], 10, 64)
	if err != nil {
		return -1
	}
	return kib << 10
}

// run prepares t's target, times one run of t, checks the extracted tree
// against want when want is not nil, and removes the target. Only the
// command itself is timed.
func (rn *runner) run(ctx context.Context, t *tool, in runInput, want *layerStats) (sample, error) {
	if t.kind != decompressOnly {
		if err := os.RemoveAll(in.target); err != nil {
			return sample{}, err
		}
		if t.kind == intoRootfs {
			if err := os.Mkdir(in.target, 0o755); err != nil {
				return sample{}, err
			}
		}
		defer os.RemoveAll(in.target)
	}
	if err := rn.output.Truncate(0); err != nil {
		return sample{}, err
	}
	if _, err := rn.output.Seek(0, io.SeekStart); err != nil {
		return sample{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, rn.timeout)
	defer cancel()
	if rn.rssFile != "" {
		if err := os.Remove(rn.rssFile); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return sample{}, err
		}
	}
	cmd := rn.command(ctx, t.argv(in))
	cmd.Stdout, cmd.Stderr = rn.output, rn.output
	if t.kind == decompressOnly {
		cmd.Stdout = rn.devNull
	}
	// Own process group, so a timeout also kills tar's gzip and the like.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }

	cpu0, cpuErr := readCPUTimes()
	start := time.Now()
	err := cmd.Run()
	s := sample{Wall: time.Since(start), MaxRSS: rn.maxRSS()}
	cpu1, cpuErr1 := readCPUTimes()

	// The CPU times of GNU time include the tool's (it waits for it).
	if ps := cmd.ProcessState; ps != nil {
		s.User, s.Sys = ps.UserTime(), ps.SystemTime()
	}
	if cpuErr == nil && cpuErr1 == nil {
		s.Foreign = foreignLoad(cpu0, cpu1, s.Wall, s.User+s.Sys)
	}
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return s, fmt.Errorf("timed out after %s", rn.timeout)
	}
	if err != nil {
		return s, fmt.Errorf("%w: %s", err, rn.outputTail())
	}
	if want != nil && t.kind != decompressOnly {
		tree := in.target
		if t.kind == intoBundle {
			tree = filepath.Join(in.target, "rootfs")
		}
		if err := verifyTree(tree, want); err != nil {
			return s, err
		}
	}
	return s, nil
}

// outputTail returns the last lines of the run's output, on one line.
func (rn *runner) outputTail() string {
	const tailBytes = 600
	fi, err := rn.output.Stat()
	if err != nil {
		return "(no output)"
	}
	off := max(0, fi.Size()-tailBytes)
	b := make([]byte, fi.Size()-off)
	n, _ := rn.output.ReadAt(b, off)
	lines := strings.Fields(strings.ReplaceAll(string(b[:n]), "\n", " ⏎ "))
	out := strings.Trim(strings.Join(lines, " "), " ⏎")
	if out == "" {
		return "(no output)"
	}
	return out
}

// verifyTree checks that the tree at root has the layer's entries and
// regular-file bytes, so that a tool which silently skips work is caught.
func verifyTree(root string, want *layerStats) error {
	var entries, bytes int64
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == root {
			return nil
		}
		entries++
		if d.Type().IsRegular() {
			fi, err := d.Info()
			if err != nil {
				return err
			}
			bytes += fi.Size()
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("verify: %w", err)
	}
	if entries != want.Entries || bytes != want.FileBytes {
		return fmt.Errorf("verify: the extracted tree has %d entries and %d file bytes, the layer %d and %d",
			entries, bytes, want.Entries, want.FileBytes)
	}
	return nil
}
