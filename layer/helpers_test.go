package layer

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"

	"github.com/safeunpack/safeunpack/internal/testutil"
	"github.com/safeunpack/safeunpack/pathrs"
)

// backends are the pathrs resolvers every test runs on.
var backends = []struct {
	name     string
	resolver pathrs.Resolver
}{
	{"openat2", pathrs.ResolverAuto},
	{"emulated", pathrs.ResolverEmulated},
}

// forEachBackend runs fn as a subtest per pathrs backend.
func forEachBackend(t *testing.T, fn func(t *testing.T, res pathrs.Resolver)) {
	t.Helper()
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) { fn(t, b.resolver) })
	}
}

// openRoot opens dir as a pathrs root with the given backend.
func openRoot(t testing.TB, dir string, res pathrs.Resolver) *pathrs.Root {
	t.Helper()
	r, err := pathrs.OpenRootWithOptions(dir, pathrs.RootOptions{Resolver: res})
	if err != nil {
		t.Fatalf("OpenRoot %s: %v", dir, err)
	}
	t.Cleanup(func() { _ = r.Close() })
	return r
}

// applyTo applies data to dir with the given backend.
func applyTo(t testing.TB, dir string, res pathrs.Resolver, data []byte, opts Options) (*Result, error) {
	t.Helper()
	return Apply(context.Background(), openRoot(t, dir, res), bytes.NewReader(data), opts)
}

// mustApply applies data and fails the test on error.
func mustApply(t testing.TB, dir string, res pathrs.Resolver, data []byte) *Result {
	t.Helper()
	r, err := applyTo(t, dir, res, data, Options{})
	if err != nil {
		t.Fatalf("Apply: %v", err)
	}
	return r
}

// newTar starts an archive owned by the current user, so that every test
// also passes unprivileged.
func newTar(t testing.TB) *testutil.TarBuilder {
	return testutil.NewTarBuilder(t, os.Geteuid(), os.Getegid())
}

func gzipBytes(t testing.TB, data []byte) []byte {
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

func zstdBytes(t testing.TB, data []byte, opts ...zstd.EOption) []byte {
	t.Helper()
	var b bytes.Buffer
	w, err := zstd.NewWriter(&b, opts...)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// assertTree compares the tree under dir with the expected lines (the
// testutil.ListTree DSL). Lines of want ending in " *" match any suffix.
func assertTree(t testing.TB, dir string, want ...string) {
	t.Helper()
	got := testutil.ListTree(t, dir)
	slices.Sort(want)
	ok := len(got) == len(want)
	for i := 0; ok && i < len(got); i++ {
		w := want[i]
		if p, found := strings.CutSuffix(w, " *"); found {
			ok = strings.HasPrefix(got[i], p)
		} else {
			ok = got[i] == w
		}
	}
	if !ok {
		t.Errorf("tree of %s:\ngot:\n\t%s\nwant:\n\t%s", dir, strings.Join(got, "\n\t"), strings.Join(want, "\n\t"))
	}
}

// readFile reads a file below dir.
func readFile(t testing.TB, dir, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		t.Fatalf("read %s: %v", name, err)
	}
	return string(b)
}

// errReader fails after n bytes.
type errReader struct {
	r   io.Reader
	n   int
	err error
}

func (e *errReader) Read(p []byte) (int, error) {
	if e.n <= 0 {
		return 0, e.err
	}
	if len(p) > e.n {
		p = p[:e.n]
	}
	n, err := e.r.Read(p)
	e.n -= n
	return n, err
}

func mkdir(p string) error { return os.Mkdir(p, 0o755) }
