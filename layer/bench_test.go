package layer

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/safeunpack/safeunpack/pathrs"
)

// benchLayer is a generated 10,000-entry layer shaped like a distribution
// tree: 100 directories of 99 files each, file sizes from a few bytes to
// 64 KiB (most small), half-compressible contents.
func benchLayer(b *testing.B) []byte { return benchLayerT(b) }

func benchLayerT(b testing.TB) []byte {
	rng := rand.New(rand.NewPCG(1, 2))
	t := newTar(b)
	words := []byte("lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor ")
	for d := range 100 {
		dir := fmt.Sprintf("usr/share/d%03d", d)
		t.Dir(dir, 0o755)
		for f := range 99 {
			size := 16 << rng.IntN(13) // 16 B .. 64 KiB, log-uniform
			buf := make([]byte, size)
			for i := range buf {
				if i%2 == 0 {
					buf[i] = words[i%len(words)]
				} else {
					buf[i] = byte(rng.Uint32())
				}
			}
			t.File(fmt.Sprintf("%s/f%03d", dir, f), 0o644, string(buf))
		}
	}
	return t.Bytes()
}

// benchDir is where benchmarks extract: $SAFEUNPACK_BENCH_DIR when set
// (point it at a tmpfs such as /dev/shm to measure the unpacker rather than
// the disk, as performance.md does), else a test temp dir.
func benchDir(b *testing.B) string {
	if d := os.Getenv("SAFEUNPACK_BENCH_DIR"); d != "" {
		base, err := os.MkdirTemp(d, "layer-bench-")
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = os.RemoveAll(base) })
		return base
	}
	return b.TempDir()
}

func benchmarkApply(b *testing.B, blob []byte, uncompressed int64) {
	base := benchDir(b)
	b.SetBytes(uncompressed)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		dir := filepath.Join(base, fmt.Sprint(i))
		i++
		if err := mkdir(dir); err != nil {
			b.Fatal(err)
		}
		root, err := pathrs.OpenRoot(dir)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := Apply(context.Background(), root, bytes.NewReader(blob), Options{}); err != nil {
			b.Fatal(err)
		}
		_ = root.Close()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/10_000, "ns/entry")
}

func BenchmarkApply(b *testing.B) {
	plain := benchLayer(b)
	b.Run("plain", func(b *testing.B) { benchmarkApply(b, plain, int64(len(plain))) })
	b.Run("gzip", func(b *testing.B) { benchmarkApply(b, gzipBytes(b, plain), int64(len(plain))) })
	b.Run("zstd", func(b *testing.B) { benchmarkApply(b, zstdBytes(b, plain), int64(len(plain))) })
}

// BenchmarkAudit reads the same layer without extracting it: the cost of
// decompression, hashing and parsing alone.
func BenchmarkAudit(b *testing.B) {
	plain := benchLayer(b)
	b.SetBytes(int64(len(plain)))
	for b.Loop() {
		if _, err := Audit(context.Background(), bytes.NewReader(plain), Options{}); err != nil {
			b.Fatal(err)
		}
	}
}
