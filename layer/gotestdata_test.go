package layer

import (
	"bytes"
	"compress/bzip2"
	"encoding/base64"
	"errors"
	"go/build"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/safeunpack/safeunpack/internal/testutil"
	"github.com/safeunpack/safeunpack/pathrs"
)

// goTestdataDir is archive/tar's own test corpus ($GOROOT/src/archive/tar/
// testdata): real and hostile archives, several of them fuzz crashers.
var goTestdataDir = filepath.Join(build.Default.GOROOT, "src", "archive", "tar", "testdata")

// maxSeedSize keeps fuzz seeds small: writer-big*.tar declare 16 GiB files
// but are only a few KB; anything decoding to more than this is skipped.
const maxSeedSize = 1 << 20

// decodeGoTestdata returns the archive in a testdata file, decoding the
// .base64 and .bz2 wrappers Go uses for hostile samples
// (internal/obscuretestdata), or nil for files that are not archives.
func decodeGoTestdata(name string, raw []byte) ([]byte, error) {
	switch {
	case strings.HasSuffix(name, ".base64"):
		return base64.StdEncoding.DecodeString(string(bytes.TrimSpace(raw)))
	case strings.HasSuffix(name, ".bz2"):
		return io.ReadAll(io.LimitReader(bzip2.NewReader(bytes.NewReader(raw)), maxSeedSize+1))
	case strings.HasSuffix(name, ".tar"):
		return raw, nil
	}
	return nil, nil
}

// goTestdata returns one decoded archive of the corpus.
func goTestdata(t testing.TB, name string) []byte {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(goTestdataDir, name))
	if err != nil {
		t.Skipf("Go's archive/tar testdata is not installed: %v", err)
	}
	data, err := decodeGoTestdata(name, raw)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// goTestdataSeeds returns every archive of the corpus by name, decoded, at
// most maxSeedSize bytes each (pax-bad-hdr-large.tar.bz2 and
// gnu-sparse-many-zeros.tar.bz2 decode to more and are cut there: a
// truncated bomb is still a useful seed).
func goTestdataSeeds(t testing.TB) map[string][]byte {
	t.Helper()
	entries, err := os.ReadDir(goTestdataDir)
	if err != nil {
		t.Skipf("Go's archive/tar testdata is not installed: %v", err)
	}
	seeds := map[string][]byte{}
	for _, e := range entries {
		raw, err := os.ReadFile(filepath.Join(goTestdataDir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		data, err := decodeGoTestdata(e.Name(), raw)
		if err != nil {
			t.Fatalf("%s: %v", e.Name(), err)
		}
		if data == nil {
			continue
		}
		if len(data) > maxSeedSize {
			data = data[:maxSeedSize]
		}
		seeds[e.Name()] = data
	}
	return seeds
}

// TestGoTestdata applies archive/tar's whole corpus on both backends and
// pins the outcome class of each archive: the fuzz crashers, negative
// sizes, NUL bytes in PAX paths and xattr keys (T09), bad PAX records and
// truncated bombs are invalid archives; declared sizes past MaxBytes
// (sparse or not, T35) are limit errors before anything is written; the
// rest applies.
func TestGoTestdata(t *testing.T) {
	invalid := map[string]bool{
		"gnu-sparse-many-zeros.tar.bz2": true, "issue10968.tar": true, "issue11169.tar": true, "issue12435.tar": true,
		"neg-size.tar.base64": true, "pax-bad-hdr-file.tar": true, "pax-bad-hdr-large.tar.bz2": true,
		"pax-bad-mtime-file.tar": true, "pax-nul-path.tar": true, "pax-nul-xattrs.tar": true,
	}
	// Archives holding device nodes: EPERM without CAP_MKNOD (the rootless
	// policy for devices is issue 6).
	devices := map[string]bool{"hdr-only.tar": true}
	overLimit := map[string]bool{
		"gnu-sparse-big.tar.base64": true, "pax-sparse-big.tar.base64": true, "writer-big.tar": true,
		"writer-big-long.tar.base64": true,
	}
	seeds := goTestdataSeeds(t)
	forEachBackend(t, func(t *testing.T, res pathrs.Resolver) {
		for name, data := range seeds {
			_, err := applyTo(t, t.TempDir(), res, data, Options{Limits: Limits{MaxBytes: 1 << 30}, Rootless: true})
			switch {
			case invalid[name]:
				if !errors.Is(err, ErrInvalidArchive) {
					t.Errorf("%s: got %v, want ErrInvalidArchive", name, err)
				}
			case overLimit[name]:
				if !errors.Is(err, ErrLimitExceeded) {
					t.Errorf("%s: got %v, want ErrLimitExceeded", name, err)
				}
			case devices[name] && errors.Is(err, unix.EPERM) && !testutil.IsRoot():
			case err != nil:
				t.Errorf("%s: %v", name, err)
			}
		}
	})
}
