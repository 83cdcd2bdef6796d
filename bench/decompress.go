//go:build linux

package main

import (
	"bufio"
	"compress/gzip"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"

	kgzip "github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// decompressCmd is the hidden first argument that makes the harness binary
// a Go decompression baseline: bench decompress IMPL FILE. Running it as a
// child process measures it exactly like the external tools.
const decompressCmd = "decompress"

const (
	implGoGzip        = "go-gzip"
	implKlauspostGzip = "klauspost-gzip"
	implKlauspostZstd = "klauspost-zstd"
	implSHA256        = "sha256"
)

func decompressMain(args []string) error {
	if len(args) != 2 {
		return errors.New("usage: bench decompress go-gzip|klauspost-gzip|klauspost-zstd|sha256 FILE")
	}
	f, err := os.Open(args[1])
	if err != nil {
		return err
	}
	defer f.Close()
	in := bufio.NewReaderSize(f, ioBufSize)
	var r io.Reader
	switch args[0] {
	case implGoGzip:
		r, err = gzip.NewReader(in)
	case implKlauspostGzip:
		r, err = kgzip.NewReader(in)
	case implKlauspostZstd:
		// One goroutine was the fastest setting measured
		// (../shared/reference/performance.md §2).
		var d *zstd.Decoder
		d, err = zstd.NewReader(in, zstd.WithDecoderConcurrency(1))
		if err == nil {
			defer d.Close()
		}
		r = d
	case implSHA256:
		h := sha256.New()
		if _, err := drain(h, f); err != nil {
			return err
		}
		_, err = fmt.Printf("sha256:%x\n", h.Sum(nil))
		return err
	default:
		return fmt.Errorf("decompress: unknown implementation %q", args[0])
	}
	if err != nil {
		return err
	}
	_, err = drain(io.Discard, r)
	return err
}

// drain copies r to w in ioBufSize reads. io.Copy would use io.Discard's
// 8 KiB ReadFrom instead of the large buffer.
func drain(w io.Writer, r io.Reader) (int64, error) {
	buf := make([]byte, ioBufSize)
	var total int64
	for {
		n, err := r.Read(buf)
		if n > 0 {
			if _, werr := w.Write(buf[:n]); werr != nil {
				return total, werr
			}
			total += int64(n)
		}
		if errors.Is(err, io.EOF) {
			return total, nil
		}
		if err != nil {
			return total, err
		}
	}
}
