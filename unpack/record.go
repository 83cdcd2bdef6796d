package unpack

import (
	"encoding/json"

	"github.com/opencontainers/go-digest"

	"github.com/safeunpack/safeunpack/layer"
)

// RecordFile is the name of the record written into the bundle.
const RecordFile = "safeunpack.json"

// Record describes an unpacked bundle. [Unpack] returns it and writes it to
// BUNDLE/safeunpack.json, so that what was unpacked, from which verified
// blobs and with which options, can be checked later.
type Record struct {
	// Tool is "safeunpack"; Version is [Version].
	Tool    string `json:"tool"`
	Version string `json:"version"`
	// Layout is the absolute path of the image layout; Reference is what
	// was asked for (LAYOUT[:TAG|@DIGEST]).
	Layout    string `json:"layout"`
	Reference string `json:"reference"`
	// Tag is the ref.name of the selected index.json entry, if any.
	Tag string `json:"tag,omitempty"`
	// ImageDigest is the digest of the index.json entry the image was
	// reached from (an index for a multi-platform image); ManifestDigest
	// is the manifest that was unpacked.
	ImageDigest       digest.Digest `json:"imageDigest"`
	ManifestDigest    digest.Digest `json:"manifestDigest"`
	ManifestMediaType string        `json:"manifestMediaType"`
	ConfigDigest      digest.Digest `json:"configDigest"`
	// Platform of the unpacked image, from its config.
	Platform string `json:"platform"`
	// Layers in application order, base first.
	Layers []LayerRecord `json:"layers"`
	// Options that shaped the bundle.
	Options RecordOptions `json:"options"`
	// Warnings logged while unpacking.
	Warnings []string `json:"warnings,omitempty"`
}

// LayerRecord describes one applied layer.
type LayerRecord struct {
	Digest            digest.Digest `json:"digest"`
	MediaType         string        `json:"mediaType"`
	Size              int64         `json:"size"`
	DiffID            digest.Digest `json:"diffID"`
	UncompressedBytes int64         `json:"uncompressedBytes"`
	Entries           int64         `json:"entries"`
	// Warnings of the layer package (skipped xattrs, for example).
	Warnings []string `json:"warnings,omitempty"`
}

// RecordOptions are the options recorded in safeunpack.json.
type RecordOptions struct {
	// Platform as requested; empty means the host's (recorded in
	// HostPlatform).
	Platform     string `json:"platform,omitempty"`
	HostPlatform string `json:"hostPlatform"`
	Rootless     bool   `json:"rootless"`
	// Privilege is what detection found: "root", "root in a user
	// namespace" or "unprivileged".
	Privilege string       `json:"privilege,omitempty"`
	UIDMap    []IDMapping  `json:"uidMap,omitempty"`
	GIDMap    []IDMapping  `json:"gidMap,omitempty"`
	Limits    layer.Limits `json:"limits"`
	Hostname  string       `json:"hostname"`
}

// IDMapping is one --uid-map or --gid-map range, with runtime-spec's JSON
// names.
type IDMapping struct {
	ContainerID uint32 `json:"containerID"`
	HostID      uint32 `json:"hostID"`
	Size        uint32 `json:"size"`
}

func toRecordMaps(maps []layer.IDMap) []IDMapping {
	var out []IDMapping
	for _, m := range maps {
		out = append(out, IDMapping(m))
	}
	return out
}

func recordOptions(opts *Options) RecordOptions {
	privilege := ""
	if opts.own != nil {
		privilege = opts.own.info.Mode.String()
	}
	return RecordOptions{
		Privilege:    privilege,
		Platform:     opts.Platform,
		HostPlatform: HostPlatform().String(),
		Rootless:     opts.Rootless || (opts.own != nil && opts.own.rootless),
		UIDMap:       toRecordMaps(opts.UIDMap),
		GIDMap:       toRecordMaps(opts.GIDMap),
		Limits:       opts.Limits,
		Hostname:     opts.hostname(),
	}
}

func marshalIndent(v any) ([]byte, error) {
	b, err := json.MarshalIndent(v, "", "\t")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}
