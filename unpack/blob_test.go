package unpack

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
	v1 "github.com/opencontainers/image-spec/specs-go/v1"
	"golang.org/x/sys/unix"
)

// testLayout makes a bare layout holding blobs with the given contents
// (stored under the digest of the content, or of want when set).
func testLayout(t *testing.T) *layout {
	t.Helper()
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "blobs", "sha256"), 0o755); err != nil {
		t.Fatal(err)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = root.Close() })
	return &layout{path: dir, root: root}
}

func putBlob(t *testing.T, l *layout, d digest.Digest, data []byte) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(l.path, blobPath(d)), data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestBlobReader(t *testing.T) {
	content := []byte("the quick brown fox jumps over the lazy dog")
	good := digest.FromBytes(content)
	tests := []struct {
		name   string
		stored []byte        // file content
		desc   v1.Descriptor // descriptor used to open it
		open   error         // sentinel expected from openBlob
		read   error         // sentinel expected from reading to EOF
	}{
		{name: "good", stored: content, desc: v1.Descriptor{Digest: good, Size: int64(len(content))}},
		{name: "flipped byte", stored: append([]byte("T"), content[1:]...), desc: v1.Descriptor{Digest: good, Size: int64(len(content))}, read: ErrDigestMismatch},
		{name: "truncated file", stored: content[:10], desc: v1.Descriptor{Digest: good, Size: int64(len(content))}, open: ErrSizeMismatch},
		{name: "longer file", stored: append(content, 'x'), desc: v1.Descriptor{Digest: good, Size: int64(len(content))}, open: ErrSizeMismatch},
		{name: "size -1", stored: content, desc: v1.Descriptor{Digest: good, Size: -1}, open: ErrInvalidLayout},
		{name: "size far larger", stored: content, desc: v1.Descriptor{Digest: good, Size: 1 << 50}, open: ErrSizeMismatch},
		{name: "malformed digest", stored: content, desc: v1.Descriptor{Digest: "sha256:xyz", Size: int64(len(content))}, open: ErrInvalidLayout},
		{name: "unknown algorithm", stored: content, desc: v1.Descriptor{Digest: "md5:d41d8cd98f00b204e9800998ecf8427e", Size: int64(len(content))}, open: ErrInvalidLayout},
		{name: "missing", desc: v1.Descriptor{Digest: good, Size: int64(len(content))}, open: ErrNotFound},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l := testLayout(t)
			if tc.stored != nil {
				putBlob(t, l, good, tc.stored)
			}
			r, err := l.openBlob(t.Context(), tc.desc, "test")
			if tc.open != nil {
				if !errors.Is(err, tc.open) {
					t.Fatalf("openBlob: got err %v, want %v", err, tc.open)
				}
				return
			}
			if err != nil {
				t.Fatalf("openBlob: %v", err)
			}
			defer r.Close()
			_, err = io.Copy(io.Discard, r)
			if tc.read != nil {
				if !errors.Is(err, tc.read) {
					t.Fatalf("read: got err %v, want %v", err, tc.read)
				}
				if r.verified {
					t.Error("reader says verified after a mismatch")
				}
				return
			}
			if err != nil || !r.verified {
				t.Fatalf("read: err %v, verified %v", err, r.verified)
			}
		})
	}
}

// A blob that changes size after the fstat check is still caught while
// streaming: short at EOF, or longer than the descriptor.
func TestBlobReaderStreamingSize(t *testing.T) {
	content := []byte("0123456789")
	d := digest.FromBytes(content)
	for _, tc := range []struct {
		name string
		now  []byte
	}{{"shrunk", content[:4]}, {"grown", append(content, "more"...)}} {
		t.Run(tc.name, func(t *testing.T) {
			l := testLayout(t)
			putBlob(t, l, d, content)
			r, err := l.openBlob(t.Context(), v1.Descriptor{Digest: d, Size: int64(len(content))}, "test")
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			putBlob(t, l, d, tc.now) // same inode, truncated and rewritten
			if _, err := io.Copy(io.Discard, r); !errors.Is(err, ErrSizeMismatch) {
				t.Errorf("read: got err %v, want ErrSizeMismatch", err)
			}
		})
	}
}

func TestBlobReaderContext(t *testing.T) {
	content := make([]byte, 1<<20)
	d := digest.FromBytes(content)
	l := testLayout(t)
	putBlob(t, l, d, content)
	ctx, cancel := context.WithCancel(t.Context())
	r, err := l.openBlob(ctx, v1.Descriptor{Digest: d, Size: int64(len(content))}, "test")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	cancel()
	if _, err := io.Copy(io.Discard, r); !errors.Is(err, context.Canceled) {
		t.Errorf("read after cancel: got err %v, want context.Canceled", err)
	}
}

// A FIFO or a symlink out of the layout planted as a blob is refused
// without blocking and without reading the target.
func TestBlobSpecialFiles(t *testing.T) {
	content := []byte("{}")
	d := digest.FromBytes(content)
	desc := v1.Descriptor{Digest: d, Size: int64(len(content))}

	t.Run("fifo", func(t *testing.T) {
		l := testLayout(t)
		if err := unix.Mkfifo(filepath.Join(l.path, blobPath(d)), 0o644); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() {
			var v any
			done <- l.readJSON(t.Context(), desc, "test", &v)
		}()
		select {
		case err := <-done:
			if !errors.Is(err, ErrInvalidLayout) {
				t.Errorf("readJSON(fifo): got err %v, want ErrInvalidLayout", err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("readJSON blocked on a FIFO")
		}
	})
	t.Run("symlink out of the layout", func(t *testing.T) {
		l := testLayout(t)
		outside := filepath.Join(t.TempDir(), "secret")
		if err := os.WriteFile(outside, content, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(outside, filepath.Join(l.path, blobPath(d))); err != nil {
			t.Fatal(err)
		}
		var v any
		err := l.readJSON(t.Context(), desc, "test", &v)
		if err == nil {
			t.Fatal("readJSON followed a symlink out of the layout")
		}
	})
}

func TestReadJSONCap(t *testing.T) {
	l := testLayout(t)
	d := digest.FromString("big")
	// The blob is never opened: the descriptor alone is over the cap.
	var v any
	err := l.readJSON(t.Context(), v1.Descriptor{Digest: d, Size: MaxJSONSize + 1}, "manifest", &v)
	if !errors.Is(err, ErrBlobTooLarge) {
		t.Errorf("readJSON(size over cap): got err %v, want ErrBlobTooLarge", err)
	}
}

func TestShortDigest(t *testing.T) {
	for in, want := range map[digest.Digest]string{
		"sha256:0123456789abcdef": "sha256:0123456789ab",
		"sha256:0123":             "sha256:0123",
		"no-separator":            "no-separator",
		"":                        "",
	} {
		if got := shortDigest(in); got != want {
			t.Errorf("shortDigest(%q) = %q, want %q", in, got, want)
		}
	}
}
