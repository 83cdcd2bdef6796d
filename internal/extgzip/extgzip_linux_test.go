package extgzip

import (
	"bytes"
	"compress/gzip"
	"crypto/rand"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/safeunpack/safeunpack/internal/testutil"
)

func gz(t *testing.T, data []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	if _, err := w.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func payload(t *testing.T) []byte {
	t.Helper()
	data := make([]byte, 3<<20)
	if _, err := rand.Read(data[:1<<20]); err != nil {
		t.Fatal(err)
	}
	return data // half random, half zeros: both code paths of inflate
}

func eachTool(t *testing.T, fn func(t *testing.T, d *Decompressor)) {
	for _, c := range candidates {
		t.Run(c.name, func(t *testing.T) {
			testutil.RequireCommand(t, c.name)
			d, err := Find(c.name)
			if err != nil {
				t.Fatal(err)
			}
			fn(t, d)
		})
	}
}

func TestDecompress(t *testing.T) {
	data := payload(t)
	// Two members: multistream, as gzip(1) treats them.
	in := append(gz(t, data[:1<<20]), gz(t, data[1<<20:])...)
	eachTool(t, func(t *testing.T, d *Decompressor) {
		rc, err := d.Start(bytes.NewReader(in))
		if err != nil {
			t.Fatal(err)
		}
		defer rc.Close()
		got, err := io.ReadAll(rc)
		if err != nil {
			t.Fatalf("ReadAll: %v", err)
		}
		if !bytes.Equal(got, data) {
			t.Fatalf("output differs: %d bytes, want %d", len(got), len(data))
		}
	})
}

func TestCorruptAndTruncated(t *testing.T) {
	in := gz(t, payload(t))
	corrupt := append([]byte(nil), in...)
	corrupt[len(corrupt)/2] ^= 0xff
	for name, bad := range map[string][]byte{
		"truncated": in[:len(in)/2],
		"corrupt":   corrupt,
		"garbage":   []byte("this is not gzip at all"),
	} {
		t.Run(name, func(t *testing.T) {
			eachTool(t, func(t *testing.T, d *Decompressor) {
				rc, err := d.Start(bytes.NewReader(bad))
				if err != nil {
					t.Fatal(err)
				}
				defer rc.Close()
				_, err = io.ReadAll(rc)
				if err == nil {
					t.Fatalf("%s input decompressed without error", name)
				}
			})
		})
	}
}

// TestCloseStopsTheProgram: a layer that fails half-way closes the reader;
// the program is killed and reaped, and Close returns promptly even though
// the input never ends.
func TestCloseStopsTheProgram(t *testing.T) {
	eachTool(t, func(t *testing.T, d *Decompressor) {
		pr, pw := io.Pipe()
		defer pw.Close()
		go func() {
			// An endless valid-looking input: a gzip header, then a
			// stored block that never ends.
			_, _ = pw.Write(gz(t, make([]byte, 1<<16))[:10])
			for {
				if _, err := pw.Write(make([]byte, 1<<16)); err != nil {
					return
				}
			}
		}()
		rc, err := d.Start(pr)
		if err != nil {
			t.Fatal(err)
		}
		r := rc.(*reader)
		done := make(chan struct{})
		go func() { _ = rc.Close(); close(done) }()
		pw.CloseWithError(errors.New("stop")) // release the stdin copier
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatal("Close did not return")
		}
		if r.cmd.ProcessState == nil {
			t.Fatal("the program was not reaped")
		}
	})
}

// TestRunsUnprivileged: as root, the program runs as nobody with no
// supplementary groups. A stand-in named igzip reports its ids.
func TestRunsUnprivileged(t *testing.T) {
	testutil.RequireRoot(t)
	dir := testutil.PrivateTempDir(t)
	script := filepath.Join(dir, "igzip")
	if err := os.WriteFile(script, []byte("#!/bin/sh\nid -u; id -g; id -G; env | grep -v '^PWD=' | wc -l\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	d := &Decompressor{path: script}
	rc, err := d.Start(bytes.NewReader(nil))
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	out, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(out), "65534\n65534\n65534\n0\n"; got != want {
		t.Fatalf("program ran with ids and environment %q, want %q", got, want)
	}
}

func TestFind(t *testing.T) {
	if _, err := Find("gzip"); err == nil {
		t.Fatal("Find(gzip) accepted an unsupported program")
	}
	if _, err := Find("/nonexistent/igzip"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Find(missing): got %v, want ErrNotFound", err)
	}
	t.Setenv("PATH", ".")
	if _, err := Find("auto"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Find with a relative PATH: got %v, want ErrNotFound", err)
	}
}

func TestWithin(t *testing.T) {
	d := &Decompressor{path: "/work/rootfs/usr/bin/igzip"}
	for dir, want := range map[string]bool{"/work/rootfs": true, "/work": true, "/work/root": false, "/usr": false} {
		if got := d.Within(dir); got != want {
			t.Errorf("Within(%q) = %v, want %v", dir, got, want)
		}
	}
}
