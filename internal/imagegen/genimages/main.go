// Command genimages writes the committed test images under testdata/images:
//
//   - demo: a three-layer linux/amd64 image tagged "latest" (gzip, zstd and
//     plain tar layers) with whiteouts, an opaque directory, hard links
//     (within a layer and to a lower layer), relative and absolute symlinks,
//     a setuid file, user.* and security.capability xattrs, a device node,
//     a FIFO, /etc/passwd and /etc/group with the non-root user "demo" that
//     the config runs as, and the static program testdata/src/hello;
//   - multiarch: an index tagged "latest" and "1.0" with linux/amd64,
//     linux/arm64 and linux/arm/v7 manifests of one tiny layer each and a
//     BuildKit-style attestation manifest, plus the amd64 manifest tagged
//     "amd64-only".
//
// It is run by `go generate ./unpack` (make generate). Output is
// deterministic for a given Go toolchain: the hello binary is built with
// -trimpath and an empty build id.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"

	v1 "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/safeunpack/safeunpack/internal/imagegen"
)

func main() {
	out := flag.String("out", "testdata/images", "directory to write the layouts into")
	hello := flag.String("hello", "testdata/src/hello", "directory of the demo program's Go source")
	flag.Parse()
	if err := run(*out, *hello); err != nil {
		fmt.Fprintln(os.Stderr, "genimages:", err)
		os.Exit(1)
	}
}

func run(out, helloSrc string) error {
	bin, err := buildHello(helloSrc)
	if err != nil {
		return err
	}
	for _, name := range []string{"demo", "multiarch"} {
		if err := os.RemoveAll(filepath.Join(out, name)); err != nil {
			return err
		}
	}
	if err := writeDemo(filepath.Join(out, "demo"), bin); err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	if err := writeMultiarch(filepath.Join(out, "multiarch")); err != nil {
		return fmt.Errorf("multiarch: %w", err)
	}
	return nil
}

// buildHello builds the demo program static for linux/amd64.
func buildHello(src string) ([]byte, error) {
	dir, err := os.MkdirTemp("", "genimages-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	abs, err := filepath.Abs(src)
	if err != nil {
		return nil, err
	}
	bin := filepath.Join(dir, "hello")
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w -buildid=", "-o", bin, ".")
	cmd.Dir = abs
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64", "GOFLAGS=-buildvcs=false")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("building %s: %w", src, err)
	}
	return os.ReadFile(bin)
}

// capNetRaw is a VFS_CAP_REVISION_2 security.capability value granting
// cap_net_raw (bit 13) permitted and effective, as `setcap cap_net_raw+ep`
// writes it: magic_etc 0x02000001 (little endian), then permitted and
// inheritable words for capabilities 0-31 and 32-63.
const capNetRaw = "\x01\x00\x00\x02" + "\x00\x20\x00\x00" + "\x00\x00\x00\x00" + "\x00\x00\x00\x00" + "\x00\x00\x00\x00"

const (
	passwd = "root:x:0:0:root:/root:/bin/hello\n" +
		"demo:x:1000:1000:safeunpack demo user:/home/demo:/bin/hello\n" +
		"nobody:x:65534:65534:nobody:/nonexistent:/bin/hello\n"
	group = "root:x:0:\n" +
		"staff:x:50:demo\n" +
		"demo:x:1000:\n" +
		"nogroup:x:65534:\n"
)

func writeDemo(dir string, hello []byte) error {
	l, err := imagegen.Create(dir)
	if err != nil {
		return err
	}
	// Layer 1: the base system.
	base := []imagegen.Entry{
		imagegen.Dir("bin", 0o755, 0, 0),
		imagegen.BinFile("bin/hello", 0o755, 0, 0, hello),
		imagegen.Dir("etc", 0o755, 0, 0),
		imagegen.File("etc/passwd", 0o644, 0, 0, passwd),
		imagegen.File("etc/group", 0o644, 0, 0, group),
		imagegen.Symlink("etc/motd", "/usr/share/demo/message.txt"),
		imagegen.Dir("home", 0o755, 0, 0),
		imagegen.Dir("home/demo", 0o755, 1000, 1000),
		imagegen.Dir("opt", 0o755, 0, 0),
		imagegen.Dir("opt/devices", 0o755, 0, 0),
		imagegen.Char("opt/devices/null", 0o666, 1, 3),
		imagegen.Fifo("opt/devices/fifo", 0o644),
		imagegen.Dir("opt/opaque", 0o755, 0, 0),
		imagegen.File("opt/opaque/old.txt", 0o644, 0, 0, "hidden by the opaque whiteout of layer 2\n"),
		imagegen.Dir("opt/opaque/old-dir", 0o755, 0, 0),
		imagegen.File("opt/opaque/old-dir/nested.txt", 0o644, 0, 0, "hidden too\n"),
		imagegen.Dir("root", 0o700, 0, 0),
		imagegen.Dir("tmp", 0o1777, 0, 0),
		imagegen.Dir("usr", 0o755, 0, 0),
		imagegen.Dir("usr/bin", 0o755, 0, 0),
		imagegen.File("usr/bin/setuid-demo", 0o4755, 0, 0, "#!/bin/hello\n"),
		imagegen.File("usr/bin/cap-demo", 0o755, 0, 0, "#!/bin/hello\n").WithXattr("security.capability", capNetRaw),
		imagegen.Dir("usr/share", 0o755, 0, 0),
		imagegen.Dir("usr/share/demo", 0o755, 0, 0),
		imagegen.File("usr/share/demo/message.txt", 0o644, 0, 0, "hello from the base layer\n").WithXattr("user.demo.origin", "layer 1"),
		imagegen.Hardlink("usr/share/demo/message-hardlink.txt", "usr/share/demo/message.txt"),
		imagegen.Symlink("usr/share/demo/message-symlink.txt", "message.txt"),
		imagegen.File("usr/share/demo/removed.txt", 0o644, 0, 0, "removed by a whiteout in layer 2\n"),
		imagegen.Dir("usr/share/demo/removed-dir", 0o755, 0, 0),
		imagegen.File("usr/share/demo/removed-dir/a.txt", 0o644, 0, 0, "removed with its directory\n"),
		imagegen.File("usr/share/demo/version.txt", 0o644, 0, 0, "1\n"),
		imagegen.Dir("var", 0o755, 0, 0),
	}
	// Layer 2: whiteouts, an opaque directory, overwrites and links. Every
	// changed directory has its own entry, as image builders write them,
	// so that its attributes (mtime included) are defined by this layer.
	update := []imagegen.Entry{
		imagegen.Dir("etc", 0o755, 0, 0),
		imagegen.File("etc/demo.conf", 0o644, 0, 0, "DEMO=1\n"),
		imagegen.Dir("opt", 0o755, 0, 0),
		imagegen.Dir("opt/links", 0o755, 0, 0),
		imagegen.File("opt/links/target.txt", 0o644, 0, 0, "hard-linked within layer 2\n"),
		imagegen.Hardlink("opt/links/hardlink.txt", "opt/links/target.txt"),
		imagegen.Hardlink("opt/links/lower-hardlink.txt", "usr/share/demo/message.txt"),
		imagegen.Symlink("opt/links/absolute-symlink", "/etc/passwd"),
		imagegen.Symlink("opt/links/dangling-symlink", "/does/not/exist"),
		imagegen.Dir("opt/opaque", 0o755, 0, 0),
		imagegen.Opaque("opt/opaque"),
		imagegen.File("opt/opaque/new.txt", 0o644, 0, 0, "added by layer 2 after an opaque whiteout\n"),
		imagegen.Dir("usr", 0o755, 0, 0),
		imagegen.Dir("usr/share", 0o755, 0, 0),
		imagegen.Dir("usr/share/demo", 0o755, 0, 0),
		imagegen.Whiteout("usr/share/demo", "removed.txt"),
		imagegen.Whiteout("usr/share/demo", "removed-dir"),
		imagegen.File("usr/share/demo/layer2.txt", 0o644, 0, 0, "added by layer 2\n"),
		imagegen.File("usr/share/demo/version.txt", 0o644, 0, 0, "2\n"),
	}
	// Layer 3: files of the non-root user.
	user := []imagegen.Entry{
		imagegen.Dir("home", 0o755, 0, 0),
		imagegen.Dir("home/demo", 0o755, 1000, 1000),
		imagegen.File("home/demo/notes.txt", 0o640, 1000, 1000, "owned by the demo user\n"),
		imagegen.Dir("var", 0o755, 0, 0),
		imagegen.Dir("var/cache", 0o755, 0, 0),
		imagegen.Dir("var/cache/demo", 0o750, 1000, 50),
		imagegen.File("var/cache/demo/state", 0o600, 1000, 1000, "state\n"),
	}
	md, err := l.Image(imagegen.Image{
		Layers: []imagegen.Layer{
			{Entries: base, Compression: imagegen.Gzip},
			{Entries: update, Compression: imagegen.Zstd},
			{Entries: user, Compression: imagegen.None},
		},
		Config: v1.ImageConfig{
			User:       "demo",
			Env:        []string{"PATH=/bin:/usr/bin", "DEMO_GREETING=hello from safeunpack"},
			Entrypoint: []string{"/bin/hello"},
			Cmd: []string{
				"/usr/share/demo/message.txt", "/etc/motd", "/usr/share/demo/removed.txt",
				"/opt/opaque", "/usr/share/demo/version.txt", "/home/demo/notes.txt",
			},
			WorkingDir: "/home/demo",
			Labels: map[string]string{
				"org.opencontainers.image.title":       "safeunpack demo",
				"org.opencontainers.image.description": "test image generated by internal/imagegen/genimages",
			},
			StopSignal: "SIGTERM",
		},
		Platform: v1.Platform{OS: "linux", Architecture: "amd64"},
	})
	if err != nil {
		return err
	}
	return l.WriteIndex(imagegen.Tagged(md, "latest"))
}

func writeMultiarch(dir string) error {
	l, err := imagegen.Create(dir)
	if err != nil {
		return err
	}
	platforms := []v1.Platform{
		{OS: "linux", Architecture: "amd64"},
		{OS: "linux", Architecture: "arm64"},
		{OS: "linux", Architecture: "arm", Variant: "v7"},
	}
	var manifests []v1.Descriptor
	for _, p := range platforms {
		name := p.OS + "/" + p.Architecture
		if p.Variant != "" {
			name += "/" + p.Variant
		}
		md, err := l.Image(imagegen.Image{
			Layers: []imagegen.Layer{{
				Entries:     []imagegen.Entry{imagegen.File("platform.txt", 0o644, 0, 0, name+"\n")},
				Compression: imagegen.Gzip,
			}},
			Config:   v1.ImageConfig{Cmd: []string{"/platform.txt"}},
			Platform: p,
		})
		if err != nil {
			return err
		}
		manifests = append(manifests, md)
	}
	// An attestation manifest as BuildKit writes them: platform
	// unknown/unknown, no filesystem worth unpacking.
	att, err := l.Image(imagegen.Image{
		Layers:   []imagegen.Layer{{Entries: []imagegen.Entry{imagegen.File("statement.json", 0o644, 0, 0, "{}\n")}}},
		Platform: v1.Platform{OS: "unknown", Architecture: "unknown"},
	})
	if err != nil {
		return err
	}
	att.Annotations = map[string]string{
		"vnd.docker.reference.type":   "attestation-manifest",
		"vnd.docker.reference.digest": manifests[0].Digest.String(),
	}
	idx, err := l.Index(v1.MediaTypeImageIndex, append(manifests, att)...)
	if err != nil {
		return err
	}
	return l.WriteIndex(imagegen.Tagged(idx, "latest"), imagegen.Tagged(idx, "1.0"), imagegen.Tagged(manifests[0], "amd64-only"))
}
