//go:build linux

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/opencontainers/go-digest"
)

// Source (layer content) names, as accepted by -datasets.
const (
	debian  = "debian"
	synth   = "synth50k"
	million = "empty1m"
)

// sourceSpec is one layer's content; each is packed with several
// compressions.
type sourceSpec struct {
	name    string
	title   string
	version int // bump to invalidate cached output
	comps   []compression
	build   func(ctx context.Context, cfg *config, dir string, lw *layerWriter) error
}

var sources = []sourceSpec{
	{debian, "Debian bookworm minbase (mmdebstrap)", debianVersion, []compression{compGzip, compZstd, compNone}, buildDebian},
	{synth, "synthetic 50,000 entries", synthVersion, []compression{compGzip, compZstd, compNone}, buildSynth},
	{million, "1,000,000 empty files", millionVersion, []compression{compGzip, compNone}, buildMillion},
}

func sourceNames() []string {
	names := make([]string, len(sources))
	for i, s := range sources {
		names[i] = s.name
	}
	return names
}

func sourceByName(name string) *sourceSpec {
	for i := range sources {
		if sources[i].name == name {
			return &sources[i]
		}
	}
	return nil
}

// sourceInfo is a built layer tar, cached in <work>/sources/<name>/ with
// this struct as source.json.
type sourceInfo struct {
	Name    string        `json:"name"`
	Version int           `json:"version"`
	DiffID  digest.Digest `json:"diff_id"`
	Stats   layerStats    `json:"stats"`
	dir     string
}

func (s *sourceInfo) tarPath() string { return filepath.Join(s.dir, "layer.tar") }

// prepareSource returns the cached layer tar of spec, building it first if
// it is missing or stale.
func prepareSource(ctx context.Context, cfg *config, spec *sourceSpec) (*sourceInfo, error) {
	dir := filepath.Join(cfg.work, "sources", spec.name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	stamp := filepath.Join(dir, "source.json")
	var info sourceInfo
	if readJSON(stamp, &info) == nil && info.Version == spec.version && info.Name == spec.name {
		info.dir = dir
		if fileSize(info.tarPath()) == info.Stats.TarBytes {
			return &info, nil
		}
	}
	logf("building the %s layer tar", spec.name)
	info = sourceInfo{Name: spec.name, Version: spec.version, dir: dir}
	var err error
	info.Stats, info.DiffID, err = writeLayerTar(ctx, info.tarPath(), func(ctx context.Context, lw *layerWriter) error {
		return spec.build(ctx, cfg, dir, lw)
	})
	if err != nil {
		return nil, fmt.Errorf("building %s: %w", spec.name, err)
	}
	logf("%s: %d entries, %d bytes of tar, DiffID %s", spec.name, info.Stats.Entries, info.Stats.TarBytes, info.DiffID)
	return &info, writeJSON(stamp, &info)
}

func readJSON(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

// writeJSON writes v to path atomically.
func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// fileSize returns the size of path, or -1 if it cannot be stat'ed.
func fileSize(path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		return -1
	}
	return fi.Size()
}
