//go:build linux

package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// errHelp reports that -h was given and usage has been printed.
var errHelp = errors.New("help requested")

const (
	defaultWork   = "/var/tmp/safeunpack-bench"
	defaultRounds = 5
	quickRounds   = 2
	// millionRounds caps the rounds of the 1,000,000-entry layer: one
	// umoci run alone takes minutes there, and its spread is small.
	millionRounds = 3
)

// config is the parsed command line. Paths are absolute.
type config struct {
	work       string        // dataset cache and tmpfs mount point parent
	out        string        // where results-<date>.md and .json go
	safeunpack string        // the safeunpack binary under test
	rounds     int           // rounds per dataset
	quick      bool          // CI smoke mode
	datasets   []string      // source names to run, in order
	tools      []string      // tool keys to run; empty means all
	timeout    time.Duration // per run
	idleWait   time.Duration // longest wait for an idle machine before a run
	nice       int           // niceness of the harness and every tool
	mirror     string        // Debian mirror for mmdebstrap
	suite      string        // Debian suite for mmdebstrap
	install    bool          // apt-get install missing tools
}

func parseFlags(args []string) (*config, error) {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	work := fs.String("work", envOr("SAFEUNPACK_BENCH_WORK", defaultWork), "cache and scratch `dir` (env SAFEUNPACK_BENCH_WORK)")
	out := fs.String("out", "bench/out", "`dir` for results-<date>.md and results-<date>.json")
	su := fs.String("safeunpack", "bin/safeunpack", "safeunpack binary under test")
	rounds := fs.Int("rounds", 0, fmt.Sprintf("rounds per dataset (default %d, %d with -quick; the 1M-entry layer runs at most %d)", defaultRounds, quickRounds, millionRounds))
	quick := fs.Bool("quick", false, "smoke mode for CI: fewer rounds, no 1M-entry layer")
	datasets := fs.String("datasets", "", "comma-separated data sets: "+strings.Join(sourceNames(), ",")+" (default all; -quick drops "+million+")")
	tools := fs.String("tools", "", "comma-separated tool keys to run (default all): "+strings.Join(toolKeys(), ","))
	timeout := fs.Duration("timeout", 15*time.Minute, "limit for one run of one tool")
	nice := fs.Int("nice", -20, "nice(1) adjustment for the harness and every tool (-20: other processes disturb the timings less; 0: unchanged)")
	idleWait := fs.Duration("idle-wait", time.Minute, "before each run, wait up to this long for the machine to be idle (0: do not wait)")
	mirror := fs.String("mirror", "http://deb.debian.org/debian", "Debian mirror for mmdebstrap")
	suite := fs.String("suite", "bookworm", "Debian suite for mmdebstrap")
	noInstall := fs.Bool("no-install", false, "do not apt-get install missing tools (their rows are skipped)")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: bench [flags]   (run as root; see bench/README.md)\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, errHelp
		}
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	cfg := &config{
		rounds:   *rounds,
		quick:    *quick,
		timeout:  *timeout,
		idleWait: *idleWait,
		nice:     *nice,
		mirror:   *mirror,
		suite:    *suite,
		install:  !*noInstall,
	}
	if cfg.rounds < 0 {
		return nil, fmt.Errorf("-rounds %d: must be positive", cfg.rounds)
	}
	if cfg.nice < -20 || cfg.nice > 19 {
		return nil, fmt.Errorf("-nice %d: must be in -20..19", cfg.nice)
	}
	if cfg.rounds == 0 {
		cfg.rounds = defaultRounds
		if cfg.quick {
			cfg.rounds = quickRounds
		}
	}
	var err error
	for _, p := range []struct {
		dst *string
		src string
	}{{&cfg.work, *work}, {&cfg.out, *out}, {&cfg.safeunpack, *su}} {
		if *p.dst, err = filepath.Abs(p.src); err != nil {
			return nil, err
		}
	}
	if cfg.datasets, err = parseList(*datasets, sourceNames()); err != nil {
		return nil, fmt.Errorf("-datasets: %w", err)
	}
	if *datasets == "" && cfg.quick {
		cfg.datasets = slices.DeleteFunc(cfg.datasets, func(s string) bool { return s == million })
	}
	if cfg.tools, err = parseList(*tools, toolKeys()); err != nil {
		return nil, fmt.Errorf("-tools: %w", err)
	}
	if *tools == "" {
		cfg.tools = nil
	}
	return cfg, nil
}

// parseList splits a comma-separated list and checks every element against
// known; an empty list means all of known.
func parseList(s string, known []string) ([]string, error) {
	if s == "" {
		return slices.Clone(known), nil
	}
	var list []string
	for e := range strings.SplitSeq(s, ",") {
		e = strings.TrimSpace(e)
		if !slices.Contains(known, e) {
			return nil, fmt.Errorf("unknown %q (known: %s)", e, strings.Join(known, ","))
		}
		list = append(list, e)
	}
	return list, nil
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

// wantTool reports whether the tool with key k was selected.
func (c *config) wantTool(k string) bool {
	return len(c.tools) == 0 || slices.Contains(c.tools, k)
}
