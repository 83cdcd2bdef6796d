//go:build linux

package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// dataset is one layout to benchmark: a source packed with one compression.
type dataset struct {
	spec   *sourceSpec
	src    *sourceInfo
	blob   *blobInfo
	layout string
}

func (d *dataset) name() string { return d.src.Name + "-" + string(d.blob.Compression) }

// toolResult is what one tool did on one data set.
type toolResult struct {
	Key     string   `json:"key"`
	Name    string   `json:"name"`
	Command string   `json:"command"`
	Samples []sample `json:"samples,omitempty"`
	Err     string   `json:"error,omitempty"`   // the run that failed; no more runs after it
	Skipped string   `json:"skipped,omitempty"` // why it never ran
	tool    *tool
}

// datasetResult is one data set's table.
type datasetResult struct {
	Dataset     string        `json:"dataset"`
	Title       string        `json:"title"`
	Compression compression   `json:"compression"`
	MediaType   string        `json:"media_type"`
	Stats       layerStats    `json:"stats"`
	BlobBytes   int64         `json:"blob_bytes"`
	Rounds      int           `json:"rounds"`
	Tools       []*toolResult `json:"tools"`
}

func run(ctx context.Context, cfg *config) error {
	began := time.Now()
	ensureTools(ctx, cfg)
	sets, err := prepareDatasets(ctx, cfg)
	if err != nil {
		return err
	}
	mnt, unmount, err := mountTmpfs(cfg.work)
	if err != nil {
		return err
	}
	defer func() {
		if err := unmount(); err != nil {
			logf("%v", err)
		}
	}()
	self, suInfo, err := snapshotBinaries(ctx, cfg, mnt)
	if err != nil {
		return err
	}
	rn, err := newRunner(cfg.timeout, cfg.work)
	if err != nil {
		return err
	}
	defer rn.Close()
	res := &results{
		Date:    began.Format(time.DateOnly),
		Quick:   cfg.quick,
		Machine: collectMachine(ctx),
	}
	res.Machine.Safeunpack = suInfo
	for _, ds := range sets {
		dr, err := benchDataset(ctx, cfg, rn, ds, mnt, self)
		if err != nil {
			if ctx.Err() != nil && len(res.Datasets) > 0 {
				// Interrupted: keep what was measured.
				res.Interrupted = true
				res.Elapsed = time.Since(began).Round(time.Second).String()
				return errors.Join(err, writeResults(cfg, res))
			}
			return err
		}
		res.Datasets = append(res.Datasets, dr)
	}
	res.Elapsed = time.Since(began).Round(time.Second).String()
	return writeResults(cfg, res)
}

// snapshotBinaries copies this harness (for the Go baselines) and
// safeunpack onto the tmpfs, so that a rebuild during the run cannot change
// what is measured, and points cfg.safeunpack at the copy. It returns the
// harness copy and a description of the safeunpack binary.
func snapshotBinaries(ctx context.Context, cfg *config, mnt string) (self, suInfo string, err error) {
	if self, err = os.Executable(); err != nil {
		return "", "", err
	}
	if self, _, err = snapshotBinary(self, filepath.Join(mnt, "bench")); err != nil {
		return "", "", err
	}
	su, sum, err := snapshotBinary(cfg.safeunpack, filepath.Join(mnt, "safeunpack"))
	if errors.Is(err, fs.ErrNotExist) {
		return self, "not built", nil
	}
	if err != nil {
		return "", "", err
	}
	cfg.safeunpack = su
	return self, fmt.Sprintf("%s, binary sha256 %s", firstLine(ctx, su, "--version"), sum[:16]), nil
}

// prepareDatasets builds (or finds cached) every selected source, its
// compressed blobs (in parallel) and layouts.
func prepareDatasets(ctx context.Context, cfg *config) ([]*dataset, error) {
	var sets []*dataset
	for _, name := range cfg.datasets {
		spec := sourceByName(name)
		src, err := prepareSource(ctx, cfg, spec)
		if err != nil {
			return nil, err
		}
		blobs := make([]*blobInfo, len(spec.comps))
		errs := make([]error, len(spec.comps))
		var wg sync.WaitGroup
		for i, c := range spec.comps {
			wg.Go(func() { blobs[i], errs[i] = prepareBlob(ctx, src, c) })
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			return nil, err
		}
		for _, b := range blobs {
			layout, err := prepareLayout(cfg, src, b)
			if err != nil {
				return nil, err
			}
			sets = append(sets, &dataset{spec: spec, src: src, blob: b, layout: layout})
		}
	}
	return sets, nil
}

// benchDataset copies ds's layout onto the tmpfs and runs the tools round
// robin: every round runs each tool once, starting one tool later than the
// previous round, so no tool always runs first or after the same neighbour.
// A tool that fails is reported and not run again on this data set.
func benchDataset(ctx context.Context, cfg *config, rn *runner, ds *dataset, mnt, self string) (*datasetResult, error) {
	stage := filepath.Join(mnt, "layout")
	if err := os.CopyFS(stage, os.DirFS(ds.layout)); err != nil {
		return nil, fmt.Errorf("copying %s to tmpfs: %w", ds.layout, err)
	}
	defer os.RemoveAll(stage)
	in := runInput{
		self:   self,
		su:     cfg.safeunpack,
		layout: stage,
		blob:   filepath.Join(stage, "blobs", "sha256", ds.blob.Digest.Encoded()),
		target: filepath.Join(mnt, "target"),
		comp:   ds.blob.Compression,
	}
	rounds := cfg.rounds
	if ds.src.Name == million {
		rounds = min(rounds, millionRounds)
	}
	dr := &datasetResult{
		Dataset:     ds.name(),
		Title:       ds.spec.title,
		Compression: ds.blob.Compression,
		MediaType:   ds.blob.Compression.mediaType(),
		Stats:       ds.src.Stats,
		BlobBytes:   ds.blob.Size,
		Rounds:      rounds,
	}
	idle := &idleWaiter{maxWait: cfg.idleWait}
	var active []*toolResult
	for i := range tools {
		t := &tools[i]
		if !cfg.wantTool(t.key) || (t.comps != nil && !slices.Contains(t.comps, ds.blob.Compression)) {
			continue
		}
		tr := &toolResult{Key: t.key, Name: t.name, Command: displayCommand(t, ds.blob.Compression), tool: t}
		dr.Tools = append(dr.Tools, tr)
		switch {
		case t.notFor[ds.blob.Compression] != "":
			tr.Skipped = t.notFor[ds.blob.Compression]
		case t.available(cfg.safeunpack) != "":
			tr.Skipped = t.available(cfg.safeunpack)
		default:
			active = append(active, tr)
		}
	}
	for r := range rounds {
		for i := range active {
			tr := active[(i+r)%len(active)]
			if tr.Err != "" {
				continue
			}
			var want *layerStats
			if len(tr.Samples) == 0 {
				want = &ds.src.Stats
			}
			idle.wait(ctx)
			s, err := rn.run(ctx, tr.tool, in, want)
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			if err != nil {
				tr.Err = err.Error()
				logf("%s round %d/%d: %s: FAILED: %v", ds.name(), r+1, rounds, tr.Name, err)
				continue
			}
			tr.Samples = append(tr.Samples, s)
			logf("%s round %d/%d: %-40s %7.3f s  %6s MiB  (others: %2.0f%% CPU)",
				ds.name(), r+1, rounds, tr.Name, s.Wall.Seconds(), mib(s.MaxRSS), 100*s.Foreign)
		}
	}
	return dr, nil
}

// snapshotBinary copies the executable bin to dst and returns dst and the
// binary's SHA-256.
func snapshotBinary(bin, dst string) (string, string, error) {
	in, err := os.Open(bin)
	if err != nil {
		return "", "", err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o755)
	if err != nil {
		return "", "", err
	}
	h := sha256.New()
	if _, err := io.Copy(io.MultiWriter(out, h), in); err != nil {
		_ = out.Close()
		return "", "", err
	}
	return dst, hex.EncodeToString(h.Sum(nil)), out.Close()
}

// displayCommand renders t's command line with symbolic paths.
func displayCommand(t *tool, c compression) string {
	in := runInput{self: "bench", su: "safeunpack", layout: "LAYOUT", blob: "BLOB", target: "DIR", comp: c}
	return strings.Join(t.argv(in), " ")
}

// mib formats a byte count in MiB; negative means unknown.
func mib(b int64) string {
	if b < 0 {
		return "n/a"
	}
	return strconv.FormatFloat(float64(b)/(1<<20), 'f', 1, 64)
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "bench: "+format+"\n", args...)
}
