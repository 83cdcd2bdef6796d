package layer

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/safeunpack/safeunpack/pathrs"
)

func sampleLayer(t testing.TB) []byte {
	return newTar(t).Dir("etc", 0o755).File("etc/hostname", 0o644, "box\n").
		File("etc/big", 0o600, strings.Repeat("0123456789abcdef", 5000)).
		Symlink("etc/link", "hostname").Hardlink("etc/hard", "etc/hostname").Bytes()
}

// TestCompressions applies the same layer plain, gzip and zstd, detected by
// magic bytes and chosen by media type: same tree, same DiffID (the sha256
// of the uncompressed stream), whole blob read.
func TestCompressions(t *testing.T) {
	plain := sampleLayer(t)
	want := digest.FromBytes(plain)
	blobs := []struct {
		name, mediaType string
		blob            []byte
	}{
		{"none-auto", "", plain},
		{"gzip-auto", "", gzipBytes(t, plain)},
		{"zstd-auto", "", zstdBytes(t, plain)},
		{"none-oci", "application/vnd.oci.image.layer.v1.tar", plain},
		{"gzip-oci", "application/vnd.oci.image.layer.v1.tar+gzip", gzipBytes(t, plain)},
		{"zstd-oci", "application/vnd.oci.image.layer.v1.tar+zstd", zstdBytes(t, plain)},
		{"gzip-docker", "application/vnd.docker.image.rootfs.diff.tar.gzip", gzipBytes(t, plain)},
		{"zstd-buildkit", "application/vnd.docker.image.rootfs.diff.tar.zstd", zstdBytes(t, plain)},
		{"gzip-multistream", "", append(gzipBytes(t, plain[:1024]), gzipBytes(t, plain[1024:])...)},
		{"zstd-skippable-first", "", append([]byte{0x50, 0x2a, 0x4d, 0x18, 2, 0, 0, 0, 'h', 'i'}, zstdBytes(t, plain)...)},
	}
	forEachBackend(t, func(t *testing.T, res pathrs.Resolver) {
		for _, b := range blobs {
			t.Run(b.name, func(t *testing.T) {
				dir := t.TempDir()
				r, err := applyTo(t, dir, res, b.blob, Options{MediaType: b.mediaType})
				if err != nil {
					t.Fatalf("Apply: %v", err)
				}
				if r.DiffID != want {
					t.Errorf("DiffID %s, want %s", r.DiffID, want)
				}
				if wantComp := strings.Split(b.name, "-")[0]; r.Compression.String() != wantComp {
					t.Errorf("Compression %v, want %s", r.Compression, wantComp)
				}
				if r.CompressedBytes != int64(len(b.blob)) || r.UncompressedBytes != int64(len(plain)) {
					t.Errorf("bytes %d/%d, want %d/%d", r.CompressedBytes, r.UncompressedBytes, len(b.blob), len(plain))
				}
				if got := readFile(t, dir, "etc/hostname"); got != "box\n" {
					t.Errorf("etc/hostname = %q", got)
				}
			})
		}
	})
}

// TestDiffIDTrailingBytes: bytes after the end-of-archive blocks are part
// of the DiffID and are read, compressed or not.
func TestDiffIDTrailingBytes(t *testing.T) {
	plain := append(sampleLayer(t), append(make([]byte, 10240), []byte("trailing junk")...)...)
	for _, blob := range [][]byte{plain, gzipBytes(t, plain), zstdBytes(t, plain)} {
		r, err := applyTo(t, t.TempDir(), pathrs.ResolverAuto, blob, Options{})
		if err != nil {
			t.Fatalf("Apply: %v", err)
		}
		if want := digest.FromBytes(plain); r.DiffID != want {
			t.Errorf("DiffID %s, want %s (trailing bytes included)", r.DiffID, want)
		}
		if r.UncompressedBytes != int64(len(plain)) || r.CompressedBytes != int64(len(blob)) {
			t.Errorf("read %d/%d bytes, want %d/%d", r.UncompressedBytes, r.CompressedBytes, len(plain), len(blob))
		}
	}
}

// TestTruncation cuts a layer at every 512-byte boundary (and a gzip blob
// at many byte offsets): each either applies (a cut between entries looks
// like a shorter archive, which only the digest check catches) or fails
// as an invalid archive; never a panic, a hang or another error class.
func TestTruncation(t *testing.T) {
	plain := newTar(t).Dir("etc", 0o755).File("etc/hostname", 0o644, "box\n").
		File("etc/big", 0o600, strings.Repeat("0123456789abcdef", 500)).
		Symlink("etc/link", "hostname").Hardlink("etc/hard", "etc/hostname").Bytes()
	gz := gzipBytes(t, plain)
	forEachBackend(t, func(t *testing.T, res pathrs.Resolver) {
		check := func(name string, blob []byte) {
			_, err := applyTo(t, t.TempDir(), res, blob, Options{})
			if err != nil && !errors.Is(err, ErrInvalidArchive) {
				t.Errorf("%s: got %v, want success or ErrInvalidArchive", name, err)
			}
		}
		for cut := 0; cut < len(plain); cut += blockSize {
			check(fmt.Sprintf("plain[:%d]", cut), plain[:cut])
			check(fmt.Sprintf("plain[:%d]", cut+100), plain[:cut+100])
		}
		for cut := 1; cut < len(gz); cut += 7 {
			_, err := applyTo(t, t.TempDir(), res, gz[:cut], Options{})
			if !errors.Is(err, ErrInvalidArchive) {
				t.Errorf("gzip[:%d]: got %v, want ErrInvalidArchive", cut, err)
			}
		}
	})
}

// TestBombs: decompression bombs stop at the byte cap, a zstd frame asking
// for a window over the cap is refused before decoding, and many empty
// gzip members are harmless (T36, T37).
func TestBombs(t *testing.T) {
	huge := newTar(t).File("zeros", 0o644, string(make([]byte, 32<<20))).Bytes()
	lim := Limits{MaxBytes: 4 << 20}
	for name, blob := range map[string][]byte{"plain": huge, "gzip": gzipBytes(t, huge), "zstd": zstdBytes(t, huge)} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			_, err := applyTo(t, dir, pathrs.ResolverAuto, blob, Options{Limits: lim})
			le, ok := errors.AsType[*LimitError](err)
			if !ok || le.Limit != "MaxBytes" || !errors.Is(err, ErrLimitExceeded) {
				t.Fatalf("got %v, want a MaxBytes LimitError", err)
			}
			if !strings.Contains(err.Error(), `entry "zeros"`) {
				t.Errorf("error %q does not name the entry", err)
			}
			assertTree(t, dir) // refused before the file was created
		})
	}
	t.Run("zstd-window", func(t *testing.T) {
		// A 9-byte frame declaring a 2 GiB window (Window_Log 31): magic,
		// frame header descriptor, window descriptor, an empty last raw
		// block. Without a cap a decoder allocates the window first.
		blob := []byte{0x28, 0xb5, 0x2f, 0xfd, 0x00, 21 << 3, 0x01, 0x00, 0x00}
		_, err := applyTo(t, t.TempDir(), pathrs.ResolverAuto, blob, Options{})
		le, ok := errors.AsType[*LimitError](err)
		if !ok || le.Limit != "ZstdMaxWindow" {
			t.Fatalf("got %v, want a ZstdMaxWindow LimitError", err)
		}
	})
	t.Run("empty-gzip-members", func(t *testing.T) {
		plain := sampleLayer(t)
		blob := gzipBytes(t, plain)
		empty := gzipBytes(t, nil)
		for range 20000 {
			blob = append(blob, empty...)
		}
		r, err := applyTo(t, t.TempDir(), pathrs.ResolverAuto, blob, Options{})
		if err != nil || r.DiffID != digest.FromBytes(plain) {
			t.Fatalf("got %v, %v; want success with the plain DiffID", r, err)
		}
	})
}

// TestUnsupportedCompression: bzip2 and xz are recognised and refused; an
// unknown media type is an invalid option.
func TestUnsupportedCompression(t *testing.T) {
	for name, blob := range map[string][]byte{"bzip2": []byte("BZh91AY&SY"), "xz": {0xfd, '7', 'z', 'X', 'Z', 0, 0}} {
		_, err := applyTo(t, t.TempDir(), pathrs.ResolverAuto, blob, Options{})
		if !errors.Is(err, ErrUnsupportedCompression) {
			t.Errorf("%s: got %v, want ErrUnsupportedCompression", name, err)
		}
	}
	_, err := applyTo(t, t.TempDir(), pathrs.ResolverAuto, sampleLayer(t), Options{MediaType: "application/x-rar"})
	if !errors.Is(err, ErrInvalidOptions) || !errors.Is(err, ErrUnsupportedCompression) {
		t.Errorf("unknown media type: got %v", err)
	}
	_, err = applyTo(t, t.TempDir(), pathrs.ResolverAuto, sampleLayer(t), Options{MediaType: "application/vnd.oci.image.layer.v1.tar+gzip"})
	if !errors.Is(err, ErrInvalidArchive) {
		t.Errorf("plain tar declared gzip: got %v, want ErrInvalidArchive", err)
	}
}

// slowInfinite is a blob that never ends: a tar header for a huge file,
// then zeros, a little at a time.
type slowInfinite struct{ head []byte }

func (s *slowInfinite) Read(p []byte) (int, error) {
	time.Sleep(time.Millisecond)
	if len(s.head) > 0 {
		n := copy(p, s.head)
		s.head = s.head[n:]
		return n, nil
	}
	n := min(len(p), 4096)
	clear(p[:n])
	return n, nil
}

// TestCancel: cancelling the context stops the producer and the applier
// promptly, and no goroutine is left behind.
func TestCancel(t *testing.T) {
	before := runtime.NumGoroutine()
	hdr := newTar(t).File("big", 0o644, "").Bytes()[:512]
	head := bytes.Clone(hdr)
	copy(head[124:136], fmt.Sprintf("%011o\x00", 1<<33)) // size 8 GiB
	fixChecksum(head)
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	start := time.Now()
	_, err := Apply(ctx, openRoot(t, t.TempDir(), pathrs.ResolverAuto), &slowInfinite{head: head}, Options{})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Apply took %v after cancellation", d)
	}
	waitGoroutines(t, before)
}

func fixChecksum(blk []byte) {
	for i := 148; i < 156; i++ {
		blk[i] = ' '
	}
	sum := 0
	for _, c := range blk[:512] {
		sum += int(c)
	}
	copy(blk[148:], fmt.Sprintf("%06o\x00 ", sum))
}

// waitGoroutines fails if the goroutine count does not come back to n.
func waitGoroutines(t *testing.T, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > n {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("goroutines: %d, want %d:\n%s", runtime.NumGoroutine(), n, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestBlobErrors: a failing blob reader is reported as itself (not as an
// invalid archive), every goroutine exits, on every error path.
func TestBlobErrors(t *testing.T) {
	before := runtime.NumGoroutine()
	errBoom := errors.New("boom")
	plain := sampleLayer(t)
	for _, blob := range [][]byte{plain, gzipBytes(t, plain), zstdBytes(t, plain)} {
		for _, n := range []int{0, 3, len(blob) / 2, len(blob) - 1} {
			_, err := Apply(context.Background(), openRoot(t, t.TempDir(), pathrs.ResolverAuto),
				&errReader{r: bytes.NewReader(blob), n: n, err: errBoom}, Options{})
			if !errors.Is(err, errBoom) || errors.Is(err, ErrInvalidArchive) {
				t.Errorf("fail after %d bytes: got %v, want the blob's error", n, err)
			}
		}
	}
	waitGoroutines(t, before)
}

// TestDiffIDIsSHA256: a cross-check of the hasher goroutine against
// crypto/sha256 on a stream larger than the chunk queue.
func TestDiffIDIsSHA256(t *testing.T) {
	plain := newTar(t).File("a", 0o644, strings.Repeat("x", 9<<20)).File("b", 0o644, "b").Bytes()
	r := mustApply(t, t.TempDir(), pathrs.ResolverAuto, plain)
	sum := sha256.Sum256(plain)
	if want := digest.NewDigestFromBytes(digest.SHA256, sum[:]); r.DiffID != want {
		t.Errorf("DiffID %s, want %s", r.DiffID, want)
	}
	if r.Bytes != 9<<20+1 {
		t.Errorf("Bytes %d", r.Bytes)
	}
	_ = io.EOF
}
