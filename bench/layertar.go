//go:build linux

package main

import (
	"archive/tar"
	"bufio"
	"context"
	"crypto/sha256"
	"io"
	"os"
	"path/filepath"

	"github.com/opencontainers/go-digest"
)

// ioBufSize is the buffer for every bulk copy in the harness.
const ioBufSize = 1 << 20

// layerStats describes a layer tar. The verifier compares extracted trees
// with Entries and FileBytes.
type layerStats struct {
	Entries   int64 `json:"entries"`    // names in the tar, the root excluded
	Dirs      int64 `json:"dirs"`       //
	Files     int64 `json:"files"`      // regular files
	Symlinks  int64 `json:"symlinks"`   //
	Hardlinks int64 `json:"hardlinks"`  //
	Other     int64 `json:"other"`      // fifos and anything else
	FileBytes int64 `json:"file_bytes"` // regular payload, counted once per name (hardlinks too)
	TarBytes  int64 `json:"tar_bytes"`  // size of the tar stream (the DiffID's input)
}

// layerWriter is a tar.Writer that keeps layerStats.
type layerWriter struct {
	tw    *tar.Writer
	stats layerStats
	sizes map[string]int64 // non-empty regular files, for hardlink accounting
}

// WriteHeader records hdr in the stats and writes it.
func (w *layerWriter) WriteHeader(hdr *tar.Header) error {
	w.stats.Entries++
	switch hdr.Typeflag {
	case tar.TypeDir:
		w.stats.Dirs++
	case tar.TypeReg:
		w.stats.Files++
		w.stats.FileBytes += hdr.Size
		if hdr.Size > 0 {
			w.sizes[hdr.Name] = hdr.Size
		}
	case tar.TypeSymlink:
		w.stats.Symlinks++
	case tar.TypeLink:
		w.stats.Hardlinks++
		w.stats.FileBytes += w.sizes[hdr.Linkname]
	default:
		w.stats.Other++
	}
	return w.tw.WriteHeader(hdr)
}

// Write writes the current entry's payload.
func (w *layerWriter) Write(p []byte) (int, error) { return w.tw.Write(p) }

// writeLayerTar writes the tar produced by fill to path (atomically, via a
// temporary file) and returns its stats and DiffID.
func writeLayerTar(ctx context.Context, path string, fill func(context.Context, *layerWriter) error) (_ layerStats, _ digest.Digest, err error) {
	f, err := os.CreateTemp(filepath.Dir(path), ".layer-*.tar")
	if err != nil {
		return layerStats{}, "", err
	}
	defer func() {
		if err != nil {
			_ = f.Close()
			_ = os.Remove(f.Name())
		}
	}()
	h := sha256.New()
	cw := &countingWriter{w: io.MultiWriter(f, h)}
	bw := bufio.NewWriterSize(cw, ioBufSize)
	lw := &layerWriter{tw: tar.NewWriter(bw), sizes: map[string]int64{}}
	if err := fill(ctx, lw); err != nil {
		return layerStats{}, "", err
	}
	if err := lw.tw.Close(); err != nil {
		return layerStats{}, "", err
	}
	if err := bw.Flush(); err != nil {
		return layerStats{}, "", err
	}
	if err := f.Chmod(0o644); err != nil {
		return layerStats{}, "", err
	}
	if err := f.Close(); err != nil {
		return layerStats{}, "", err
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return layerStats{}, "", err
	}
	lw.stats.TarBytes = cw.n
	return lw.stats, digest.NewDigestFromBytes(digest.SHA256, h.Sum(nil)), nil
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// ctxReader makes long copies stop promptly on cancellation.
type ctxReader struct {
	ctx context.Context //nolint:containedctx // scoped to one copy
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
