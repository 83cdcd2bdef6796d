package layer

import (
	"archive/tar"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/safeunpack/safeunpack/internal/testutil"
	"github.com/safeunpack/safeunpack/pathrs"
)

// fragment is one data region of a sparse file.
type fragment struct {
	off  int64
	data string
}

// paxSparse builds a tar holding one GNU PAX 0.1 sparse file (the format
// GNU tar writes with --sparse --format=pax): a PAX extended header with
// GNU.sparse.map and GNU.sparse.size, then a ustar header whose size is
// the stored data, then the data regions back to back. archive/tar's
// Writer cannot write sparse files, so the 'x' header is made by hand.
func paxSparse(t testing.TB, name string, logical int64, frags []fragment) []byte {
	t.Helper()
	var m []string
	var data strings.Builder
	for _, f := range frags {
		m = append(m, fmt.Sprintf("%d,%d", f.off, len(f.data)))
		data.WriteString(f.data)
	}
	records := paxRecord("GNU.sparse.map", strings.Join(m, ",")) +
		paxRecord("GNU.sparse.numblocks", fmt.Sprint(len(frags))) +
		paxRecord("GNU.sparse.size", fmt.Sprint(logical))
	x := rawEntry(t, tar.TypeReg, "PaxHeaders/"+name, records)
	testutil.PatchTarHeader(x, 0, 156, []byte{tar.TypeXHeader})
	b := newTar(t).Raw(x)
	b.Header(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: 0o644, Size: int64(data.Len()), Uid: b.UID, Gid: b.GID,
		Format: tar.FormatUSTAR}, []byte(data.String()))
	return b.Bytes()
}

// paxRecord formats "%d key=value\n" where %d counts the whole record.
func paxRecord(k, v string) string {
	n := len(k) + len(v) + 3
	for {
		s := fmt.Sprintf("%d %s=%s\n", n, k, v)
		if len(s) == n {
			return s
		}
		n = len(s)
	}
}

// TestSparse: holes are skipped, never written as zeros (T35), the data is
// where the map says, and the logical size is enforced before writing.
func TestSparse(t *testing.T) {
	const logical = 64 << 20
	frags := []fragment{{0, "head"}, {32 << 20, "middle"}, {logical - 4, "tail"}}
	data := paxSparse(t, "s", logical, frags)
	forEachBackend(t, func(t *testing.T, res pathrs.Resolver) {
		dir := t.TempDir()
		r := mustApply(t, dir, res, data)
		p := filepath.Join(dir, "s")
		var st unix.Stat_t
		if err := unix.Stat(p, &st); err != nil {
			t.Fatal(err)
		}
		if st.Size != logical {
			t.Errorf("size %d, want %d", st.Size, logical)
		}
		if st.Blocks*512 > 1<<20 {
			t.Errorf("%d bytes allocated for %d bytes of data: holes were written", st.Blocks*512, 14)
		}
		f, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		for _, fr := range frags {
			buf := make([]byte, len(fr.data))
			if _, err := f.ReadAt(buf, fr.off); err != nil || string(buf) != fr.data {
				t.Errorf("at %d: %q, %v; want %q", fr.off, buf, err, fr.data)
			}
		}
		if r.Bytes != logical || r.Counts.Files != 1 {
			t.Errorf("result %+v", r)
		}
	})
	t.Run("over-MaxBytes", func(t *testing.T) {
		dir := t.TempDir()
		_, err := applyTo(t, dir, pathrs.ResolverAuto, data, Options{Limits: Limits{MaxBytes: 32 << 20}})
		wantLimit(t, err, "MaxBytes", "s")
		assertTree(t, dir)
	})
	t.Run("8EiB", func(t *testing.T) {
		huge := paxSparse(t, "bomb", 1<<63-1, []fragment{{0, "x"}})
		_, err := applyTo(t, t.TempDir(), pathrs.ResolverAuto, huge, Options{})
		wantLimit(t, err, "MaxBytes", "bomb")
	})
}

// TestGoSparseFormats applies archive/tar's own sparse samples (old GNU,
// PAX 0.0, 0.1, 1.0) and compares with what archive/tar reads.
func TestGoSparseFormats(t *testing.T) {
	for _, name := range []string{"sparse-formats.tar", "gnu-nil-sparse-data.tar", "gnu-nil-sparse-hole.tar",
		"pax-nil-sparse-data.tar", "pax-nil-sparse-hole.tar"} {
		data := goTestdata(t, name)
		want := map[string]string{}
		tr := tar.NewReader(bytes.NewReader(data))
		for {
			h, err := tr.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			b, err := io.ReadAll(tr)
			if err != nil {
				t.Fatal(err)
			}
			want[h.Name] = string(b)
		}
		t.Run(name, func(t *testing.T) {
			forEachBackend(t, func(t *testing.T, res pathrs.Resolver) {
				dir := t.TempDir()
				if _, err := applyTo(t, dir, res, data, Options{Rootless: true}); err != nil {
					t.Fatalf("Apply: %v", err)
				}
				for n, w := range want {
					// Some samples are mode 0: make them readable to an
					// unprivileged test run.
					if err := os.Chmod(filepath.Join(dir, n), 0o600); err != nil {
						t.Fatal(err)
					}
					if got := readFile(t, dir, n); got != w {
						t.Errorf("%s: got %q, want %q", n, got, w)
					}
				}
			})
		})
	}
}
