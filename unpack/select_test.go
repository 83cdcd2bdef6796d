package unpack

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"
	v1 "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/safeunpack/safeunpack/internal/imagegen"
)

func TestSelectMultiarch(t *testing.T) {
	l, err := openLayout(multiarchLayout)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	amd64Only := l.index.Manifests[2].Digest
	tests := []struct {
		name     string
		ref      Reference
		platform string // "" = host
		want     string // platform selected
		err      error
		msg      []string // substrings of the error message
	}{
		{name: "default tag, amd64", ref: Reference{Layout: multiarchLayout}, platform: "linux/amd64", want: "linux/amd64"},
		{name: "tag, arm64", ref: Reference{Layout: multiarchLayout, Tag: "1.0"}, platform: "linux/arm64", want: "linux/arm64"},
		{name: "arm defaults to v7", ref: Reference{Layout: multiarchLayout, Tag: "latest"}, platform: "linux/arm", want: "linux/arm/v7"},
		{name: "arm/v6 does not run arm/v7", ref: Reference{Layout: multiarchLayout}, platform: "linux/arm/v6",
			err: ErrNotFound, msg: []string{"linux/arm/v6", "linux/amd64, linux/arm64, linux/arm/v7"}},
		{name: "tag of a manifest", ref: Reference{Layout: multiarchLayout, Tag: "amd64-only"}, platform: "linux/amd64", want: "linux/amd64"},
		{name: "tag of a manifest, other platform asked", ref: Reference{Layout: multiarchLayout, Tag: "amd64-only"}, platform: "linux/arm64",
			err: ErrNotFound},
		{name: "digest of the index", ref: Reference{Layout: multiarchLayout, Digest: l.index.Manifests[0].Digest}, platform: "linux/arm64", want: "linux/arm64"},
		{name: "digest of a nested manifest", ref: Reference{Layout: multiarchLayout, Digest: amd64Only}, platform: "linux/amd64", want: "linux/amd64"},
		{name: "unknown tag lists tags and platforms", ref: Reference{Layout: multiarchLayout, Tag: "nope"}, platform: "linux/amd64",
			err: ErrNotFound, msg: []string{`"nope"`, "latest, 1.0, amd64-only", "linux/arm64"}},
		{name: "unknown digest", ref: Reference{Layout: multiarchLayout, Digest: digest.Digest("sha256:" + strings.Repeat("0", 64))}, platform: "linux/amd64",
			err: ErrNotFound, msg: []string{"tags: latest"}},
		{name: "attestation is never picked", ref: Reference{Layout: multiarchLayout}, platform: "unknown/unknown", err: ErrNotFound},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			want, explicit := HostPlatform(), false
			if tc.platform != "" {
				want, _ = ParsePlatform(tc.platform)
				explicit = true
			}
			sel, err := l.selectImage(t.Context(), tc.ref, want, explicit)
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("selectImage: got err %v, want %v", err, tc.err)
				}
				for _, m := range tc.msg {
					if !strings.Contains(err.Error(), m) {
						t.Errorf("error %q does not mention %q", err, m)
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("selectImage: %v", err)
			}
			if got := sel.platform.String(); got != tc.want {
				t.Errorf("selected %s, want %s", got, tc.want)
			}
		})
	}
}

// Several manifests for one platform are ambiguous; the error lists them.
func TestSelectAmbiguous(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "layout")
	l, err := imagegen.Create(dir)
	if err != nil {
		t.Fatal(err)
	}
	var descs []v1.Descriptor
	for i := range 2 {
		md, err := l.Image(imagegen.Image{
			Layers:   []imagegen.Layer{{Entries: []imagegen.Entry{imagegen.File("f", 0o644, 0, 0, strings.Repeat("x", i+1))}}},
			Platform: v1.Platform{OS: "linux", Architecture: "amd64"},
		})
		if err != nil {
			t.Fatal(err)
		}
		descs = append(descs, imagegen.Tagged(md, "latest"))
	}
	if err := l.WriteIndex(descs...); err != nil {
		t.Fatal(err)
	}
	lay, err := openLayout(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer lay.Close()
	_, err = lay.selectImage(t.Context(), Reference{Layout: dir}, Platform{OS: "linux", Architecture: "amd64"}, true)
	if !errors.Is(err, ErrAmbiguous) || !strings.Contains(err.Error(), descs[1].Digest.String()) {
		t.Errorf("selectImage: got err %v, want ErrAmbiguous listing both digests", err)
	}
}

// Docker schema2 manifest lists, manifests and layer types are accepted,
// BuildKit's zstd type included.
func TestSelectDockerTypes(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "layout")
	l, err := imagegen.Create(dir)
	if err != nil {
		t.Fatal(err)
	}
	md, err := l.Image(imagegen.Image{
		Layers: []imagegen.Layer{
			{Entries: []imagegen.Entry{imagegen.File("a", 0o644, 0, 0, "a")}, Compression: imagegen.Gzip, MediaType: MediaTypeDockerLayerGzip},
			{Entries: []imagegen.Entry{imagegen.File("b", 0o644, 0, 0, "b")}, Compression: imagegen.Zstd, MediaType: MediaTypeDockerLayerZstd},
		},
		ManifestMediaType: MediaTypeDockerManifest,
		ConfigMediaType:   MediaTypeDockerConfig,
		Platform:          v1.Platform{OS: "linux", Architecture: "arm64"},
	})
	if err != nil {
		t.Fatal(err)
	}
	idx, err := l.Index(MediaTypeDockerManifestList, md)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.WriteIndex(imagegen.Tagged(idx, "latest")); err != nil {
		t.Fatal(err)
	}
	lay, err := openLayout(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer lay.Close()
	sel, err := lay.selectImage(t.Context(), Reference{Layout: dir}, Platform{OS: "linux", Architecture: "arm64"}, true)
	if err != nil {
		t.Fatalf("selectImage: %v", err)
	}
	types, _, err := lay.checkLayers(sel.manifest)
	if err != nil {
		t.Fatalf("checkLayers: %v", err)
	}
	if types[0].canonical != v1.MediaTypeImageLayerGzip || types[1].canonical != v1.MediaTypeImageLayerZstd {
		t.Errorf("canonical types = %+v", types)
	}
}

func TestList(t *testing.T) {
	got, err := List(t.Context(), multiarchLayout)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Images) != 3 || got.Images[0].Tag != "latest" || len(got.Images[0].Manifests) != 4 {
		t.Fatalf("List = %+v", got)
	}
	var platforms []string
	for _, m := range got.Images[0].Manifests {
		platforms = append(platforms, m.Platform)
		if m.Layers != 1 || m.LayersSize <= 0 || m.Error != "" {
			t.Errorf("manifest %+v: want one layer, a size and no error", m)
		}
	}
	if want := "linux/amd64 linux/arm64 linux/arm/v7 unknown/unknown"; strings.Join(platforms, " ") != want {
		t.Errorf("platforms = %q, want %q", platforms, want)
	}
	// A missing manifest blob is reported in its entry; the listing goes on.
	dir := copyLayout(t, multiarchLayout)
	idx, _ := firstManifest(t, dir)
	if err := removeFile(blobFile(dir, idx.Manifests[2].Digest)); err != nil {
		t.Fatal(err)
	}
	got, err = List(t.Context(), dir)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(got.Images[2].Error, "missing") || got.Images[0].Error != "" {
		t.Errorf("List with a missing blob = %+v", got.Images)
	}
}

// The only image of a reference is taken when no platform was asked for,
// with a warning when it does not match the host.
func TestSelectOnlyImageOtherPlatform(t *testing.T) {
	l, err := openLayout(multiarchLayout)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	s390x := Platform{OS: "linux", Architecture: "s390x"}
	sel, err := l.selectImage(t.Context(), Reference{Layout: multiarchLayout, Tag: "amd64-only"}, s390x, false)
	if err != nil {
		t.Fatalf("selectImage: %v", err)
	}
	if sel.platform.String() != "linux/amd64" || len(sel.warnings) != 1 || !strings.Contains(sel.warnings[0], "linux/s390x") {
		t.Errorf("selected %s with warnings %q", sel.platform, sel.warnings)
	}
	// Asked for explicitly, it is an error.
	if _, err := l.selectImage(t.Context(), Reference{Layout: multiarchLayout, Tag: "amd64-only"}, s390x, true); !errors.Is(err, ErrNotFound) {
		t.Errorf("explicit s390x: got err %v, want ErrNotFound", err)
	}
	// From an index of several, the host's platform must match.
	if _, err := l.selectImage(t.Context(), Reference{Layout: multiarchLayout}, s390x, false); !errors.Is(err, ErrNotFound) {
		t.Errorf("index without the host's platform: got err %v, want ErrNotFound", err)
	}
}
