package unpack

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// FuzzResolveUser: any config User and any /etc/passwd and /etc/group
// give a result or an error, never a panic; a result always has its
// primary gid among the additional ones (CVE-2023-25173).
func FuzzResolveUser(f *testing.F) {
	f.Add("app", "root:x:0:0::/root:\napp:x:1000:1000::/home/app:\n", "wheel:x:10:app\n")
	f.Add("1000:wheel", "app:x:1000:1000\n", "wheel:x:10:\n")
	f.Add("", "", "")
	f.Add("a:b:c", "a:x:1:2::/:\n", "b:x:3:\n")
	f.Add("4294967295", "::::\n", ":::\n")
	f.Fuzz(func(t *testing.T, spec, passwd, group string) {
		files := map[string][]byte{"/etc/passwd": []byte(passwd), "/etc/group": []byte(group)}
		u, _, err := resolveUser(spec, mapFiles(files))
		if err != nil {
			if !errors.Is(err, ErrInvalidUser) {
				t.Fatalf("resolveUser(%q): error %v does not wrap ErrInvalidUser", spec, err)
			}
			return
		}
		if !slices.Contains(u.AdditionalGids, u.GID) || u.Home == "" {
			t.Fatalf("resolveUser(%q) = %+v: primary gid missing from additional gids, or no home", spec, u)
		}
	})
}

// FuzzLayoutIndex: any index.json is either refused with a sentinel of
// this package or resolved without a panic.
func FuzzLayoutIndex(f *testing.F) {
	for _, p := range []string{demoLayout, multiarchLayout} {
		data, err := os.ReadFile(filepath.Join(p, "index.json"))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data, "")
		f.Add(data, "latest")
	}
	f.Add([]byte(`{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.index.v1+json","digest":"sha256:0000000000000000000000000000000000000000000000000000000000000000","size":-1}]}`), "x")
	sentinels := []error{ErrInvalidLayout, ErrNotFound, ErrAmbiguous, ErrDigestMismatch, ErrSizeMismatch,
		ErrBlobTooLarge, ErrUnsupportedMediaType}
	base, err := openLayout(multiarchLayout)
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { _ = base.Close() })
	f.Fuzz(func(t *testing.T, index []byte, tag string) {
		l := &layout{path: base.path, root: base.root}
		err := l.setIndex(index)
		if err == nil {
			_, err = l.selectImage(t.Context(), Reference{Layout: l.path, Tag: tag}, Platform{OS: "linux", Architecture: "amd64"}, true)
		}
		if err != nil && !slices.ContainsFunc(sentinels, func(s error) bool { return errors.Is(err, s) }) {
			t.Fatalf("error %v wraps no sentinel", err)
		}
	})
}
