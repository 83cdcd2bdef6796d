//go:build linux

package main

import (
	"bufio"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/klauspost/compress/zstd"
	"github.com/opencontainers/go-digest"
	v1 "github.com/opencontainers/image-spec/specs-go/v1"
)

// compression of a layer blob.
type compression string

const (
	compGzip compression = "gzip"
	compZstd compression = "zstd"
	compNone compression = "tar"
)

// compressVersion changes whenever the compressor settings change.
const compressVersion = 1

func (c compression) mediaType() string {
	switch c {
	case compGzip:
		return v1.MediaTypeImageLayerGzip
	case compZstd:
		return v1.MediaTypeImageLayerZstd
	default:
		return v1.MediaTypeImageLayer
	}
}

// blobInfo is one compressed layer blob, cached next to its source tar as
// layer.<comp>.json.
type blobInfo struct {
	Compression compression   `json:"compression"`
	Version     int           `json:"version"`
	DiffID      digest.Digest `json:"diff_id"`
	Digest      digest.Digest `json:"digest"`
	Size        int64         `json:"size"`
	path        string
}

// prepareBlob returns the blob of src compressed with c, compressing it
// first if it is missing or stale. The uncompressed blob is the tar itself.
func prepareBlob(ctx context.Context, src *sourceInfo, c compression) (*blobInfo, error) {
	if c == compNone {
		return &blobInfo{Compression: c, DiffID: src.DiffID, Digest: src.DiffID, Size: src.Stats.TarBytes, path: src.tarPath()}, nil
	}
	path := filepath.Join(src.dir, "layer.tar."+string(c))
	stamp := path + ".json"
	var b blobInfo
	if readJSON(stamp, &b) == nil && b.Version == compressVersion && b.DiffID == src.DiffID && fileSize(path) == b.Size {
		b.path = path
		return &b, nil
	}
	logf("compressing the %s layer with %s", src.Name, c)
	d, size, err := compressFile(ctx, src.tarPath(), path, c)
	if err != nil {
		return nil, fmt.Errorf("compressing %s with %s: %w", src.Name, c, err)
	}
	b = blobInfo{Compression: c, Version: compressVersion, DiffID: src.DiffID, Digest: d, Size: size, path: path}
	return &b, writeJSON(stamp, &b)
}

// compressFile compresses src into dst as image builders do: gzip with
// Go's compress/gzip at the default level (docker, buildkit), zstd with
// klauspost/compress at its default level (containerd, buildkit).
func compressFile(ctx context.Context, src, dst string, c compression) (_ digest.Digest, _ int64, err error) {
	in, err := os.Open(src)
	if err != nil {
		return "", 0, err
	}
	defer in.Close()
	out, err := os.CreateTemp(filepath.Dir(dst), ".blob-*")
	if err != nil {
		return "", 0, err
	}
	defer func() {
		if err != nil {
			_ = out.Close()
			_ = os.Remove(out.Name())
		}
	}()
	h := sha256.New()
	cw := &countingWriter{w: io.MultiWriter(out, h)}
	bw := bufio.NewWriterSize(cw, ioBufSize)
	var zw io.WriteCloser
	switch c {
	case compGzip:
		zw, err = gzip.NewWriterLevel(bw, gzip.DefaultCompression)
	case compZstd:
		zw, err = zstd.NewWriter(bw)
	default:
		err = fmt.Errorf("unknown compression %q", c)
	}
	if err != nil {
		return "", 0, err
	}
	if _, err := io.CopyBuffer(zw, ctxReader{ctx, in}, make([]byte, ioBufSize)); err != nil {
		return "", 0, err
	}
	if err := zw.Close(); err != nil {
		return "", 0, err
	}
	if err := bw.Flush(); err != nil {
		return "", 0, err
	}
	if err := out.Chmod(0o644); err != nil {
		return "", 0, err
	}
	if err := out.Close(); err != nil {
		return "", 0, err
	}
	if err := os.Rename(out.Name(), dst); err != nil {
		return "", 0, err
	}
	return digest.NewDigestFromBytes(digest.SHA256, h.Sum(nil)), cw.n, nil
}
