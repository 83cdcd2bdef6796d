//go:build linux

package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// results is everything one harness run measured; it is written as
// Markdown and as JSON (with every sample).
type results struct {
	Date  string `json:"date"`
	Quick bool   `json:"quick"`
	// Interrupted: the run was stopped; only whole data sets are kept.
	Interrupted bool             `json:"interrupted,omitempty"`
	Elapsed     string           `json:"elapsed"`
	Machine     machineInfo      `json:"machine"`
	Datasets    []*datasetResult `json:"datasets"`
}

// RSS targets of issue 7.
const (
	rssTarget        = 64 << 20
	rssTargetMillion = 128 << 20
	umociTargetRatio = 3
)

// writeResults prints the report and saves it as
// <out>/results-<date>[-quick].{md,json}.
func writeResults(cfg *config, res *results) error {
	var b strings.Builder
	renderReport(&b, cfg, res)
	fmt.Print(b.String())
	if err := os.MkdirAll(cfg.out, 0o755); err != nil {
		return err
	}
	base := filepath.Join(cfg.out, "results-"+res.Date)
	if res.Quick {
		base += "-quick"
	}
	if res.Interrupted {
		base += "-interrupted"
	}
	if err := os.WriteFile(base+".md", []byte(b.String()), 0o644); err != nil {
		return err
	}
	if err := writeJSON(base+".json", res); err != nil {
		return err
	}
	logf("wrote %s.md and %s.json", base, base)
	return nil
}

func renderReport(w io.Writer, cfg *config, res *results) {
	mode := "full"
	if res.Quick {
		mode = "quick"
	}
	if res.Interrupted {
		mode += ", interrupted: the data sets below are all that completed"
	}
	fmt.Fprintf(w, "# safeunpack end-to-end benchmark, %s (%s mode)\n\n", res.Date, mode)
	renderMachine(w, &res.Machine)
	fmt.Fprintf(w, "\nEach data set: %d rounds (the 1M-entry layer at most %d); each round runs every tool once, "+
		"round robin, starting one tool later each round. Inputs and targets are on one tmpfs in a private mount "+
		"namespace; the target is removed between runs, outside the timing, and each run starts once the machine "+
		"is idle (waiting at most %s; the harness and the tools run under nice -n %d). Wall time of the whole command; "+
		"CPU = median user+sys; peak RSS = the largest ru_maxrss over the runs, as GNU time (the launcher of "+
		"every tool) reports it: the largest process of the tool's tree, e.g. tar's gzip child, not a sum. The first run of each tool is checked: the extracted tree "+
		"must have the layer's entry count and file bytes. Elapsed: %s.\n", cfg.rounds, millionRounds, cfg.idleWait, cfg.nice, res.Elapsed)
	renderDatasets(w, res.Datasets)
	fmt.Fprintf(w, "\n## Results\n\n`÷ safeunpack` is the tool's median over safeunpack unpack's median "+
		"(above 1: safeunpack is faster).\n")
	for _, dr := range res.Datasets {
		renderTable(w, dr)
	}
	renderTargets(w, res.Datasets)
	renderCommands(w, res.Datasets)
}

func renderMachine(w io.Writer, m *machineInfo) {
	sha := ""
	if m.SHANI {
		sha = ", SHA-NI"
	}
	fmt.Fprintf(w, "| machine | |\n|---|---|\n")
	fmt.Fprintf(w, "| CPU | %s, %d cores%s |\n", m.CPU, m.Cores, sha)
	fmt.Fprintf(w, "| memory | %.1f GiB |\n", m.MemGiB)
	fmt.Fprintf(w, "| kernel | %s |\n", m.Kernel)
	fmt.Fprintf(w, "| Go | %s (harness, Go baselines), klauspost/compress %s |\n", m.GoVersion, m.Klauspost)
	fmt.Fprintf(w, "| commit | %s |\n", m.Commit)
	fmt.Fprintf(w, "| safeunpack | %s |\n", m.Safeunpack)
	for _, t := range m.Tools {
		fmt.Fprintf(w, "| %s | %s |\n", t.Name, t.Version)
	}
}

func renderDatasets(w io.Writer, drs []*datasetResult) {
	fmt.Fprintf(w, "\n## Data sets\n\n")
	fmt.Fprintf(w, "| data set | entries | dirs | files | symlinks | hardlinks | file bytes | tar | gzip | zstd |\n")
	fmt.Fprintf(w, "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n")
	seen := map[string]bool{}
	for _, dr := range drs {
		src := strings.TrimSuffix(dr.Dataset, "-"+string(dr.Compression))
		if seen[src] {
			continue
		}
		seen[src] = true
		sizes := map[compression]string{}
		for _, o := range drs {
			if strings.TrimSuffix(o.Dataset, "-"+string(o.Compression)) == src {
				sizes[o.Compression] = mb(o.BlobBytes)
			}
		}
		s := dr.Stats
		fmt.Fprintf(w, "| %s: %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", src, dr.Title,
			commas(s.Entries), commas(s.Dirs), commas(s.Files), commas(s.Symlinks), commas(s.Hardlinks),
			mb(s.FileBytes), mb(s.TarBytes), orDash(sizes[compGzip]), orDash(sizes[compZstd]))
	}
	fmt.Fprintf(w, "\nMB = 10^6 bytes. gzip: Go compress/gzip, default level; zstd: klauspost/compress, default level "+
		"(as docker, buildkit and containerd write them). One layer per OCI layout, tagged `latest`.\n")
}

// reference returns safeunpack unpack's result, or apply's if unpack has
// no samples, or nil.
func reference(dr *datasetResult) *toolResult {
	for _, key := range []string{"su-unpack", "su-apply"} {
		if tr := find(dr, key); tr != nil && len(tr.Samples) > 0 {
			return tr
		}
	}
	return nil
}

func find(dr *datasetResult, key string) *toolResult {
	for _, tr := range dr.Tools {
		if tr.Key == key {
			return tr
		}
	}
	return nil
}

func renderTable(w io.Writer, dr *datasetResult) {
	ref := reference(dr)
	refName := "safeunpack"
	if ref != nil {
		refName = ref.Name
	}
	fmt.Fprintf(w, "\n### %s (%s): %s entries, %s tar, %s blob\n\n", dr.Dataset, dr.MediaType,
		commas(dr.Stats.Entries), mb(dr.Stats.TarBytes), mb(dr.BlobBytes))
	fmt.Fprintf(w, "| tool | median s | min s | max s | ÷ %s | CPU s | peak RSS MiB | runs |\n", refName)
	fmt.Fprintf(w, "|---|--:|--:|--:|--:|--:|--:|--:|\n")
	var notes []string
	for _, tr := range dr.Tools {
		sm := summarize(tr.Samples)
		note := ""
		switch {
		case tr.Skipped != "":
			notes = append(notes, tr.Name+": not run: "+tr.Skipped)
			note = fmt.Sprintf("not run [%d]", len(notes))
		case tr.Err != "":
			notes = append(notes, tr.Name+": failed: "+tr.Err)
			note = fmt.Sprintf("failed [%d]", len(notes))
		}
		if sm.N == 0 {
			fmt.Fprintf(w, "| %s | %s | | | | | | 0 |\n", tr.Name, note)
			continue
		}
		ratio := "n/a"
		if ref != nil {
			ratio = fmt.Sprintf("%.2f", sm.Median.Seconds()/summarize(ref.Samples).Median.Seconds())
		}
		if note != "" {
			note = " " + note
		}
		fmt.Fprintf(w, "| %s%s | %s | %s | %s | %s | %s | %s | %d |\n", tr.Name, note,
			secs(sm.Median), secs(sm.Min), secs(sm.Max), ratio, secs(sm.CPU), mib(sm.MaxRSS), sm.N)
	}
	if len(notes) > 0 {
		fmt.Fprintln(w)
		for i, n := range notes {
			fmt.Fprintf(w, "[%d] %s  \n", i+1, n)
		}
	}
	renderDisturbance(w, dr)
}

// disturbedLoad is the foreign load above which a run counts as disturbed.
const disturbedLoad = 0.10

// renderDisturbance says how much other processes ran during the table's
// runs, so that a noisy table is recognisable as such.
func renderDisturbance(w io.Writer, dr *datasetResult) {
	var loads []float64
	disturbed := 0
	for _, tr := range dr.Tools {
		for _, s := range tr.Samples {
			loads = append(loads, s.Foreign)
			if s.Foreign > disturbedLoad {
				disturbed++
			}
		}
	}
	if len(loads) == 0 {
		return
	}
	slices.Sort(loads)
	msg := fmt.Sprintf("\nOther processes used %.0f%% of the CPUs during the median run, %.0f%% at most; "+
		"%d of %d runs were disturbed (> %.0f%%).", 100*loads[len(loads)/2], 100*loads[len(loads)-1],
		disturbed, len(loads), 100*disturbedLoad)
	if disturbed*5 > len(loads) {
		msg += " **More than a fifth of the runs were disturbed: this table is noisy.**"
	}
	fmt.Fprintln(w, msg)
}

// renderTargets checks issue 7's targets against safeunpack unpack.
func renderTargets(w io.Writer, drs []*datasetResult) {
	fmt.Fprintf(w, "\n## Issue 7 targets (safeunpack unpack, medians from this run)\n\n")
	any := false
	for _, dr := range drs {
		su := find(dr, "su-unpack")
		if su == nil || len(su.Samples) == 0 {
			continue
		}
		any = true
		s := summarize(su.Samples)
		rival := "gnutar"
		if dr.Compression == compGzip {
			rival = "bsdtar"
		}
		if tr := find(dr, rival); tr != nil && len(tr.Samples) > 0 {
			r := summarize(tr.Samples)
			fmt.Fprintf(w, "- %s: %s s vs %s %s s: %s\n", dr.Dataset, secs(s.Median), tr.Name, secs(r.Median), verdict(s.Median <= r.Median))
			if ig := find(dr, "su-unpack-igzip"); ig != nil && len(ig.Samples) > 0 {
				m := summarize(ig.Samples).Median
				fmt.Fprintf(w, "- %s, opt-in `--gunzip igzip`: %s s vs %s %s s: %s\n", dr.Dataset, secs(m), tr.Name, secs(r.Median), verdict(m <= r.Median))
			}
		}
		if tr := find(dr, "umoci"); tr != nil && len(tr.Samples) > 0 {
			ratio := summarize(tr.Samples).Median.Seconds() / s.Median.Seconds()
			fmt.Fprintf(w, "- %s: %.2f× faster than umoci unpack (target %d×): %s\n", dr.Dataset, ratio, umociTargetRatio, verdict(ratio >= umociTargetRatio))
		}
		limit := int64(rssTarget)
		if strings.HasPrefix(dr.Dataset, million) {
			limit = rssTargetMillion
		}
		fmt.Fprintf(w, "- %s: peak RSS %s MiB (target < %d MiB): %s\n", dr.Dataset, mib(s.MaxRSS), limit>>20, verdict(s.MaxRSS >= 0 && s.MaxRSS < limit))
	}
	if !any {
		fmt.Fprintf(w, "safeunpack unpack did not run successfully: no target can be checked.\n")
	}
}

func renderCommands(w io.Writer, drs []*datasetResult) {
	fmt.Fprintf(w, "\n## Commands\n\nLAYOUT is the OCI layout, BLOB its layer blob, DIR a fresh target "+
		"(created empty beforehand, except for the bundle commands). `bench decompress` is this harness "+
		"re-executed as a Go baseline.\n\n")
	variants := map[string]map[string]bool{} // tool name -> its commands
	for _, dr := range drs {
		for _, tr := range dr.Tools {
			if variants[tr.Name] == nil {
				variants[tr.Name] = map[string]bool{}
			}
			variants[tr.Name][tr.Command] = true
		}
	}
	seen := map[string]bool{}
	for _, dr := range drs {
		for _, tr := range dr.Tools {
			if seen[tr.Command] {
				continue
			}
			seen[tr.Command] = true
			name := tr.Name
			if len(variants[tr.Name]) > 1 {
				name += " (" + string(dr.Compression) + ")"
			}
			fmt.Fprintf(w, "- %s: `%s`\n", name, tr.Command)
		}
	}
}

func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "**missed**"
}

func secs(d time.Duration) string { return strconv.FormatFloat(d.Seconds(), 'f', 3, 64) }

func mb(b int64) string { return strconv.FormatFloat(float64(b)/1e6, 'f', 1, 64) + " MB" }

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// commas formats n with thousands separators.
func commas(n int64) string {
	if n < 0 {
		return "-" + commas(-n)
	}
	s := strconv.FormatInt(n, 10)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}
