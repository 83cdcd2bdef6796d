package unpack

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/opencontainers/go-digest"
)

func TestParseReference(t *testing.T) {
	base := t.TempDir()
	mkLayout := func(rel string) string {
		p := filepath.Join(base, rel)
		if err := os.MkdirAll(p, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(p, "oci-layout"), []byte(`{"imageLayoutVersion":"1.0.0"}`), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	plain := mkLayout("plain")
	colon := mkLayout("dir:with:colons/img")
	dig := digest.FromString("x")
	tests := []struct {
		name string
		in   string
		want Reference
		err  error // sentinel, nil for success
	}{
		{name: "layout only", in: plain, want: Reference{Layout: plain}},
		{name: "tag", in: plain + ":v1", want: Reference{Layout: plain, Tag: "v1"}},
		{name: "tag with slash and colon", in: plain + ":example.com/app:1.0", want: Reference{Layout: plain, Tag: "example.com/app:1.0"}},
		{name: "digest", in: plain + "@" + dig.String(), want: Reference{Layout: plain, Digest: dig}},
		{name: "colons in the path", in: colon, want: Reference{Layout: colon}},
		{name: "colons in the path and a tag", in: colon + ":latest", want: Reference{Layout: colon, Tag: "latest"}},
		// Nothing exists: split at the last ':' not followed by '/'.
		{name: "missing layout with tag", in: "/nonexistent/x:v2", want: Reference{Layout: "/nonexistent/x", Tag: "v2"}},
		{name: "missing layout with colon dir", in: "/nonexistent/a:b/c", want: Reference{Layout: "/nonexistent/a:b/c"}},
		{name: "relative", in: "demo:latest", want: Reference{Layout: "demo", Tag: "latest"}},
		{name: "at sign in path", in: "/nonexistent/a@b", want: Reference{Layout: "/nonexistent/a@b"}},
		{name: "empty", in: "", err: ErrInvalidOptions},
		{name: "empty tag", in: plain + ":", err: ErrInvalidOptions},
		{name: "empty tag missing layout", in: "/nonexistent/x:", err: ErrInvalidOptions},
		{name: "malformed digest", in: plain + "@sha256:abc", err: ErrInvalidOptions},
		{name: "empty layout", in: ":tag", err: ErrInvalidOptions},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseReference(tc.in)
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("ParseReference(%q): got err %v, want %v", tc.in, err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseReference(%q): %v", tc.in, err)
			}
			if got != tc.want {
				t.Errorf("ParseReference(%q) = %+v, want %+v", tc.in, got, tc.want)
			}
			// String round-trips.
			if again, err := ParseReference(got.String()); err != nil || again != got {
				t.Errorf("ParseReference(%q.String()) = %+v, %v; want %+v", tc.in, again, err, got)
			}
		})
	}
}
