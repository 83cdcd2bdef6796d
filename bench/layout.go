//go:build linux

package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"

	"github.com/opencontainers/go-digest"
	specs "github.com/opencontainers/image-spec/specs-go"
	v1 "github.com/opencontainers/image-spec/specs-go/v1"
)

// layoutTag is the tag every layout's single manifest carries.
const layoutTag = "latest"

// layoutStamp is cached as <work>/layouts/<name>.json beside the layout.
type layoutStamp struct {
	Blob     digest.Digest `json:"blob"`
	Manifest digest.Digest `json:"manifest"`
}

// prepareLayout returns the OCI image layout (one manifest tagged latest,
// one layer) for blob, building it if missing or stale. The layer blob is
// hardlinked from the source directory.
func prepareLayout(cfg *config, src *sourceInfo, b *blobInfo) (string, error) {
	dir := filepath.Join(cfg.work, "layouts", src.Name+"-"+string(b.Compression))
	stamp := dir + ".json"
	var st layoutStamp
	if readJSON(stamp, &st) == nil && st.Blob == b.Digest && fileSize(filepath.Join(dir, "index.json")) > 0 {
		return dir, nil
	}
	m, err := writeLayout(dir, src, b)
	if err != nil {
		return "", fmt.Errorf("writing the %s layout: %w", filepath.Base(dir), err)
	}
	return dir, writeJSON(stamp, &layoutStamp{Blob: b.Digest, Manifest: m})
}

// writeLayout writes the layout into dir.tmp, then renames it to dir. It
// returns the manifest digest.
func writeLayout(dir string, src *sourceInfo, b *blobInfo) (digest.Digest, error) {
	tmp := dir + ".tmp"
	if err := os.RemoveAll(tmp); err != nil {
		return "", err
	}
	blobs := filepath.Join(tmp, "blobs", "sha256")
	if err := os.MkdirAll(blobs, 0o755); err != nil {
		return "", err
	}
	if err := linkOrCopy(b.path, filepath.Join(blobs, b.Digest.Encoded())); err != nil {
		return "", err
	}
	config := v1.Image{
		Platform: v1.Platform{Architecture: runtime.GOARCH, OS: "linux"},
		Config: v1.ImageConfig{
			Env: []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"},
			Cmd: []string{"/bin/sh"},
		},
		RootFS: v1.RootFS{Type: "layers", DiffIDs: []digest.Digest{src.DiffID}},
	}
	configDesc, err := writeJSONBlob(blobs, v1.MediaTypeImageConfig, config)
	if err != nil {
		return "", err
	}
	manifest := v1.Manifest{
		Versioned: specs.Versioned{SchemaVersion: 2},
		MediaType: v1.MediaTypeImageManifest,
		Config:    configDesc,
		Layers:    []v1.Descriptor{{MediaType: b.Compression.mediaType(), Digest: b.Digest, Size: b.Size}},
	}
	manifestDesc, err := writeJSONBlob(blobs, v1.MediaTypeImageManifest, manifest)
	if err != nil {
		return "", err
	}
	manifestDesc.Annotations = map[string]string{v1.AnnotationRefName: layoutTag}
	index := v1.Index{
		Versioned: specs.Versioned{SchemaVersion: 2},
		MediaType: v1.MediaTypeImageIndex,
		Manifests: []v1.Descriptor{manifestDesc},
	}
	if err := writeJSONFile(filepath.Join(tmp, v1.ImageIndexFile), index); err != nil {
		return "", err
	}
	if err := writeJSONFile(filepath.Join(tmp, v1.ImageLayoutFile), v1.ImageLayout{Version: v1.ImageLayoutVersion}); err != nil {
		return "", err
	}
	if err := os.RemoveAll(dir); err != nil {
		return "", err
	}
	return manifestDesc.Digest, os.Rename(tmp, dir)
}

func writeJSONBlob(blobs, mediaType string, v any) (v1.Descriptor, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return v1.Descriptor{}, err
	}
	d := digest.FromBytes(b)
	if err := os.WriteFile(filepath.Join(blobs, d.Encoded()), b, 0o644); err != nil {
		return v1.Descriptor{}, err
	}
	return v1.Descriptor{MediaType: mediaType, Digest: d, Size: int64(len(b))}, nil
}

func writeJSONFile(path string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o644)
}

// linkOrCopy hardlinks src to dst, copying when they are on different
// filesystems.
func linkOrCopy(src, dst string) error {
	if err := os.Link(src, dst); err == nil {
		return nil
	}
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		_ = out.Close()
		return err
	}
	return out.Close()
}
