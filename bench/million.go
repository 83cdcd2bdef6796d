//go:build linux

package main

import (
	"archive/tar"
	"context"
	"fmt"
)

// millionVersion changes whenever buildMillion's output changes.
const millionVersion = 1

// The 1,000,000-empty-file layer: 1,000 directories of 1,000 empty files
// (1,001,000 entries). It measures per-entry cost and whether memory stays
// bounded when nothing but headers arrives.
const (
	millionDirs    = 1_000
	millionPerDir  = 1_000
	millionEntries = millionDirs * (millionPerDir + 1)
)

func buildMillion(ctx context.Context, _ *config, _ string, lw *layerWriter) error {
	for d := range millionDirs {
		if err := ctx.Err(); err != nil {
			return err
		}
		dir := fmt.Sprintf("d%03d/", d)
		hdr := &tar.Header{Typeflag: tar.TypeDir, Name: dir, Mode: 0o755, ModTime: synthEpoch}
		if err := lw.WriteHeader(hdr); err != nil {
			return err
		}
		for f := range millionPerDir {
			hdr := &tar.Header{
				Typeflag: tar.TypeReg,
				Name:     fmt.Sprintf("%sf%07d", dir, d*millionPerDir+f),
				Mode:     0o644,
				ModTime:  synthEpoch,
			}
			if err := lw.WriteHeader(hdr); err != nil {
				return err
			}
		}
	}
	return nil
}
