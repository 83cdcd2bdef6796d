package layer

import (
	"bytes"
	"context"
	"errors"
	"io"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/safeunpack/safeunpack/internal/testutil"
	"github.com/safeunpack/safeunpack/pathrs"
)

// hostileCase is one hostile-layer scenario: a pre-existing tree in the
// root (what earlier, possibly hostile, layers left), one or more layers,
// and the expected outcome. Every case runs on both pathrs backends inside
// a testutil.Canary, whose Check asserts INV-1..INV-3 (nothing outside the
// root changed, no inode shared with the outside) whatever the outcome.
type hostileCase struct {
	name string
	// lower is a testutil.MakeTree spec created in the root first ($T is
	// the canary's base, $ROOT the root).
	lower []string
	// layers builds the layer tars; all but the last must apply cleanly.
	layers func(t testing.TB, c *testutil.Canary) [][]byte
	// wantErr: the last layer must fail with an error matching each of
	// these (errors.Is); nil means it must succeed.
	wantErr []error
	// check asserts the state of the root afterwards (may be nil).
	check func(t *testing.T, r *pathrs.Root)
	// needs skips the case when the environment lacks something.
	needs func(t testing.TB)
}

func layers(bs ...[]byte) [][]byte { return bs }

// runHostile runs cases on both backends.
func runHostile(t *testing.T, cases []hostileCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.needs != nil {
				tc.needs(t)
			}
			forEachBackend(t, func(t *testing.T, res pathrs.Resolver) {
				c := testutil.NewCanary(t)
				testutil.MakeTree(t, c.Root, tc.lower...)
				ls := tc.layers(t, c)
				c.Refresh(t) // the builder may plant files outside the root on purpose
				root := openRoot(t, c.Root, res)
				var err error
				for i, l := range ls {
					_, err = Apply(context.Background(), root, bytes.NewReader(l), Options{})
					if err != nil && i < len(ls)-1 {
						t.Fatalf("layer %d of %d: %v", i+1, len(ls), err)
					}
				}
				switch {
				case len(tc.wantErr) == 0 && err != nil:
					t.Errorf("Apply: got error %v, want success", err)
				case len(tc.wantErr) > 0 && err == nil:
					t.Errorf("Apply: got success, want an error matching %v", tc.wantErr)
				case err != nil:
					if _, ok := errors.AsType[*EntryError](err); !ok {
						t.Errorf("Apply: error %v is a %T, want *EntryError", err, err)
					}
					for _, w := range tc.wantErr {
						if !errors.Is(err, w) {
							t.Errorf("Apply: got error %v, want one matching %v", err, w)
						}
					}
					t.Logf("expected error: %v", err)
				}
				c.Check(t)
				if tc.check != nil {
					tc.check(t, root)
				}
			})
		})
	}
}

// Oracles resolving paths inside the root, as a container would see them
// (never through the host, where an absolute symlink would lead outside).

func inRootStat(t testing.TB, r *pathrs.Root, p string, follow bool) (unix.Stat_t, error) {
	t.Helper()
	var (
		h   *pathrs.Handle
		err error
	)
	if follow {
		h, err = r.Resolve(p)
	} else {
		h, err = r.ResolveNoFollow(p)
	}
	if err != nil {
		return unix.Stat_t{}, err
	}
	defer h.Close()
	return h.Stat()
}

func sameFile(a, b string) func(t *testing.T, r *pathrs.Root) {
	return func(t *testing.T, r *pathrs.Root) {
		t.Helper()
		sa, err := inRootStat(t, r, a, true)
		if err != nil {
			t.Fatalf("stat %s: %v", a, err)
		}
		sb, err := inRootStat(t, r, b, true)
		if err != nil {
			t.Fatalf("stat %s: %v", b, err)
		}
		if sa.Dev != sb.Dev || sa.Ino != sb.Ino {
			t.Errorf("%s and %s: different inodes (%d, %d), want the same", a, b, sa.Ino, sb.Ino)
		}
	}
}

func notSameFile(a, b string) func(t *testing.T, r *pathrs.Root) {
	return func(t *testing.T, r *pathrs.Root) {
		t.Helper()
		sa, err := inRootStat(t, r, a, true)
		if err != nil {
			t.Fatalf("stat %s: %v", a, err)
		}
		sb, err := inRootStat(t, r, b, true)
		if err != nil {
			t.Fatalf("stat %s: %v", b, err)
		}
		if sa.Dev == sb.Dev && sa.Ino == sb.Ino {
			t.Errorf("%s and %s: same inode %d, want different", a, b, sa.Ino)
		}
	}
}

func sameSymlink(a, b string) func(t *testing.T, r *pathrs.Root) {
	return func(t *testing.T, r *pathrs.Root) {
		t.Helper()
		sa, err := inRootStat(t, r, a, false)
		if err != nil {
			t.Fatalf("lstat %s: %v", a, err)
		}
		sb, err := inRootStat(t, r, b, false)
		if err != nil {
			t.Fatalf("lstat %s: %v", b, err)
		}
		if sa.Mode&unix.S_IFMT != unix.S_IFLNK || sa.Ino != sb.Ino {
			t.Errorf("%s and %s: want one symlink inode, got modes %o/%o inodes %d/%d", a, b, sa.Mode, sb.Mode, sa.Ino, sb.Ino)
		}
	}
}

func fileValue(p, want string) func(t *testing.T, r *pathrs.Root) {
	return func(t *testing.T, r *pathrs.Root) {
		t.Helper()
		f, err := r.Open(p, unix.O_RDONLY)
		if err != nil {
			t.Fatalf("open %s: %v", p, err)
		}
		defer f.Close()
		b, err := io.ReadAll(f)
		if err != nil {
			t.Fatal(err)
		}
		if string(b) != want {
			t.Errorf("%s: got %q, want %q", p, b, want)
		}
	}
}

func notExists(p string) func(t *testing.T, r *pathrs.Root) {
	return func(t *testing.T, r *pathrs.Root) {
		t.Helper()
		if _, err := inRootStat(t, r, p, false); !errors.Is(err, unix.ENOENT) {
			t.Errorf("%s: got %v, want ENOENT", p, err)
		}
	}
}

func isKind(p string, mode uint32) func(t *testing.T, r *pathrs.Root) {
	return func(t *testing.T, r *pathrs.Root) {
		t.Helper()
		st, err := inRootStat(t, r, p, false)
		if err != nil {
			t.Fatalf("lstat %s: %v", p, err)
		}
		if st.Mode&unix.S_IFMT != mode {
			t.Errorf("%s: type %o, want %o", p, st.Mode&unix.S_IFMT, mode)
		}
	}
}

func all(checks ...func(t *testing.T, r *pathrs.Root)) func(t *testing.T, r *pathrs.Root) {
	return func(t *testing.T, r *pathrs.Root) {
		t.Helper()
		for _, c := range checks {
			c(t, r)
		}
	}
}
