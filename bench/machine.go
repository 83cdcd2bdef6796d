//go:build linux

package main

import (
	"bufio"
	"context"
	"fmt"
	"os/exec"
	"runtime"
	"runtime/debug"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/safeunpack/safeunpack/procfs"
)

// machineInfo is the report's "Machine" section.
type machineInfo struct {
	CPU        string        `json:"cpu"`
	Cores      int           `json:"cores"`
	SHANI      bool          `json:"sha_ni"`
	MemGiB     float64       `json:"mem_gib"`
	Kernel     string        `json:"kernel"`
	GoVersion  string        `json:"go_version"` // toolchain that built the harness
	Klauspost  string        `json:"klauspost_compress"`
	Commit     string        `json:"commit"`
	Safeunpack string        `json:"safeunpack_version"`
	Tools      []toolVersion `json:"tools"`
}

type toolVersion struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

func collectMachine(ctx context.Context) machineInfo {
	m := machineInfo{Cores: runtime.NumCPU(), GoVersion: runtime.Version(), Klauspost: "unknown"}
	m.CPU, m.SHANI = cpuInfo()
	m.MemGiB = memGiB()
	var u unix.Utsname
	if unix.Uname(&u) == nil {
		m.Kernel = unix.ByteSliceToString(u.Sysname[:]) + " " + unix.ByteSliceToString(u.Release[:]) + " " + unix.ByteSliceToString(u.Machine[:])
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			if d.Path == "github.com/klauspost/compress" {
				m.Klauspost = d.Version
			}
		}
	}
	m.Commit = gitCommit(ctx)
	for _, v := range []struct{ name, bin string }{
		{"GNU tar", "tar"}, {"bsdtar", "bsdtar"}, {"umoci", "umoci"}, {"gzip", "gzip"}, {"pigz", "pigz"},
		{"igzip", "igzip"}, {"zstd", "zstd"}, {"mmdebstrap", "mmdebstrap"},
	} {
		m.Tools = append(m.Tools, toolVersion{v.name, firstLine(ctx, v.bin, "--version")})
	}
	return m
}

// cpuInfo returns the CPU model name and whether it has the SHA extensions.
func cpuInfo() (model string, shaNI bool) {
	f, err := procfs.Open(procfs.ProcRoot, "cpuinfo", unix.O_RDONLY)
	if err != nil {
		return "unknown", false
	}
	defer f.Close()
	model = "unknown"
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		switch strings.TrimSpace(k) {
		case "model name":
			model = strings.TrimSpace(v)
		case "flags":
			shaNI = shaNI || strings.Contains(" "+v+" ", " sha_ni ")
		}
	}
	return model, shaNI
}

func memGiB() float64 {
	var si unix.Sysinfo_t
	if unix.Sysinfo(&si) != nil {
		return 0
	}
	return float64(si.Totalram) * float64(si.Unit) / (1 << 30)
}

// gitCommit describes the checkout the harness runs in.
func gitCommit(ctx context.Context) string {
	c := firstLine(ctx, "git", "rev-parse", "--short=12", "HEAD")
	if strings.HasPrefix(c, "unavailable") {
		return "unknown"
	}
	out, err := exec.CommandContext(ctx, "git", "status", "--porcelain", "--untracked-files=no").Output()
	if err == nil && len(out) > 0 {
		c += " (with uncommitted changes)"
	}
	return c
}

// firstLine runs a command and returns the first non-empty line of its
// output.
func firstLine(ctx context.Context, name string, args ...string) string {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, name, args...).CombinedOutput()
	if err != nil {
		return fmt.Sprintf("unavailable (%v)", err)
	}
	for l := range strings.SplitSeq(string(out), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			return l
		}
	}
	return "unknown"
}
