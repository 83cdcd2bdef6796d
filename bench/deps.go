//go:build linux

package main

import (
	"context"
	"os"
	"os/exec"
	"strings"
)

// hostTools are the commands the harness uses and their Debian packages.
// GNU tar and gzip are Essential and always present.
var hostTools = []struct{ bin, pkg string }{
	{"mmdebstrap", "mmdebstrap"},
	{"umoci", "umoci"},
	{"bsdtar", "libarchive-tools"},
	{"pigz", "pigz"},
	{"igzip", "isal"},
	{"zstd", "zstd"},  // also GNU tar --zstd's decompressor
	{gnuTime, "time"}, // launches every tool, for an accurate peak RSS
}

// ensureTools apt-get installs the packages of missing commands. Failure is
// not fatal: the tools that are still missing are reported as skipped.
func ensureTools(ctx context.Context, cfg *config) {
	var missing []string
	for _, t := range hostTools {
		if lookPath(t.bin) == "" {
			missing = append(missing, t.pkg)
		}
	}
	if len(missing) == 0 {
		return
	}
	if !cfg.install {
		logf("missing packages %s (-no-install): their rows are skipped", strings.Join(missing, " "))
		return
	}
	logf("installing %s", strings.Join(missing, " "))
	for _, argv := range [][]string{
		{"apt-get", "update", "-qq"},
		append([]string{"apt-get", "install", "-y", "-qq", "--no-install-recommends"}, missing...),
	} {
		cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
		cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Run(); err != nil {
			logf("%s: %v; continuing without %s", strings.Join(argv[:2], " "), err, strings.Join(missing, " "))
			return
		}
	}
}

// lookPath returns the path of bin on PATH, or "".
func lookPath(bin string) string {
	p, err := exec.LookPath(bin)
	if err != nil {
		return ""
	}
	return p
}
