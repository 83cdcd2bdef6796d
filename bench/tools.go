//go:build linux

package main

import (
	"os"
	"strings"
)

// toolKind says what a tool's target is.
type toolKind int

const (
	// intoBundle: the tool creates the target, a bundle whose tree is
	// target/rootfs.
	intoBundle toolKind = iota
	// intoRootfs: the target exists (empty) and receives the tree.
	intoRootfs
	// decompressOnly: output goes to /dev/null; there is no tree.
	decompressOnly
)

// runInput names the paths of one run, all on the tmpfs.
type runInput struct {
	self   string // this harness binary, for the Go baselines
	su     string // the safeunpack binary
	layout string // OCI layout directory, tagged latest
	blob   string // the layer blob inside layout
	target string // extraction target (not for decompressOnly)
	comp   compression
}

// tool is one competitor or baseline.
type tool struct {
	key   string // for -tools
	name  string // report label
	kind  toolKind
	bin   string        // looked up on PATH; "" for safeunpack and the Go baselines
	comps []compression // nil: every compression
	// notFor explains, per compression, why the tool does not run.
	notFor map[compression]string
	argv   func(in runInput) []string
}

// safeunpack reports whether t is one of the tools under test.
func (t *tool) safeunpack() bool { return strings.HasPrefix(t.key, "su-") }

// tools are run in this order in round 1 (later rounds rotate it).
var tools = []tool{
	{key: "su-unpack", name: "safeunpack unpack", kind: intoBundle, argv: func(in runInput) []string {
		return []string{in.su, "unpack", "--image", in.layout + ":" + layoutTag, in.target}
	}},
	{key: "su-apply", name: "safeunpack apply", kind: intoRootfs, argv: func(in runInput) []string {
		return []string{in.su, "apply", in.blob, in.target}
	}},
	// safeunpack's opt-in external inflater (--gunzip, issue 7's lever):
	// igzip from PATH, fed and verified by safeunpack.
	{key: "su-unpack-igzip", name: "safeunpack unpack --gunzip igzip", kind: intoBundle, comps: []compression{compGzip}, argv: func(in runInput) []string {
		return []string{in.su, "--gunzip", "igzip", "unpack", "--image", in.layout + ":" + layoutTag, in.target}
	}},
	{key: "su-apply-igzip", name: "safeunpack apply --gunzip igzip", kind: intoRootfs, comps: []compression{compGzip}, argv: func(in runInput) []string {
		return []string{in.su, "--gunzip", "igzip", "apply", in.blob, in.target}
	}},
	{key: "gnutar", name: "GNU tar -xpf", kind: intoRootfs, bin: "tar", argv: func(in runInput) []string {
		switch in.comp {
		case compGzip:
			return []string{"tar", "-xzpf", in.blob, "-C", in.target}
		case compZstd:
			return []string{"tar", "--zstd", "-xpf", in.blob, "-C", in.target}
		}
		return []string{"tar", "-xpf", in.blob, "-C", in.target}
	}},
	{key: "bsdtar", name: "bsdtar -xpf", kind: intoRootfs, bin: "bsdtar", argv: func(in runInput) []string {
		return []string{"bsdtar", "-xpf", in.blob, "-C", in.target}
	}},
	{
		key: "umoci", name: "umoci unpack", kind: intoBundle, bin: "umoci",
		notFor: map[compression]string{compZstd: umociNoZstd},
		argv: func(in runInput) []string {
			return []string{"umoci", "unpack", "--image", in.layout + ":" + layoutTag, in.target}
		},
	},
	{
		key: "umoci-raw", name: "umoci raw unpack", kind: intoRootfs, bin: "umoci",
		notFor: map[compression]string{compZstd: umociNoZstd},
		argv: func(in runInput) []string {
			return []string{"umoci", "raw", "unpack", "--image", in.layout + ":" + layoutTag, in.target}
		},
	},
	{key: "gzip", name: "gzip -dc (decompress only)", kind: decompressOnly, bin: "gzip", comps: []compression{compGzip}, argv: func(in runInput) []string {
		return []string{"gzip", "-dc", in.blob}
	}},
	{key: "pigz", name: "pigz -dc (decompress only)", kind: decompressOnly, bin: "pigz", comps: []compression{compGzip}, argv: func(in runInput) []string {
		return []string{"pigz", "-dc", in.blob}
	}},
	{key: "igzip", name: "igzip -dc (decompress only)", kind: decompressOnly, bin: "igzip", comps: []compression{compGzip}, argv: func(in runInput) []string {
		return []string{"igzip", "-dc", in.blob}
	}},
	{key: "zstd", name: "zstd -dc (decompress only)", kind: decompressOnly, bin: "zstd", comps: []compression{compZstd}, argv: func(in runInput) []string {
		return []string{"zstd", "-dc", in.blob}
	}},
	{key: "go-gzip", name: "Go compress/gzip (decompress only)", kind: decompressOnly, comps: []compression{compGzip}, argv: func(in runInput) []string {
		return []string{in.self, decompressCmd, implGoGzip, in.blob}
	}},
	{key: "go-kgzip", name: "Go klauspost gzip (decompress only)", kind: decompressOnly, comps: []compression{compGzip}, argv: func(in runInput) []string {
		return []string{in.self, decompressCmd, implKlauspostGzip, in.blob}
	}},
	{key: "go-zstd", name: "Go klauspost zstd, 1 goroutine (decompress only)", kind: decompressOnly, comps: []compression{compZstd}, argv: func(in runInput) []string {
		return []string{in.self, decompressCmd, implKlauspostZstd, in.blob}
	}},
	{key: "go-sha256", name: "Go sha256 of the blob (hash only)", kind: decompressOnly, argv: func(in runInput) []string {
		return []string{in.self, decompressCmd, implSHA256, in.blob}
	}},
}

// umociNoZstd explains the umoci zstd gap (measured: umoci 0.4.7 fails with
// "blob is not correct mediatype"; its changelog adds zstd to the mutate
// API only, opencontainers/umoci#348 #350).
const umociNoZstd = "umoci 0.4.7 (Debian bookworm) refuses tar+zstd layers on unpack (\"blob is not correct mediatype\"); its zstd support (umoci#348, #350) is for repack only"

func toolKeys() []string {
	keys := make([]string, len(tools))
	for i, t := range tools {
		keys[i] = t.key
	}
	return keys
}

// available returns "" if t can run, else why not.
func (t *tool) available(su string) string {
	if t.safeunpack() {
		if fi, err := os.Stat(su); err != nil || fi.IsDir() {
			return "not built (" + su + " missing: run make build)"
		}
		return ""
	}
	if strings.HasSuffix(t.key, "-igzip") && lookPath("igzip") == "" {
		return "igzip not installed"
	}
	if t.bin != "" && lookPath(t.bin) == "" {
		return t.bin + " not installed"
	}
	return ""
}
