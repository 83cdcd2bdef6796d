package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"

	"github.com/safeunpack/safeunpack/internal/imagegen"
	"github.com/safeunpack/safeunpack/internal/testutil"
	"github.com/safeunpack/safeunpack/unpack"
)

const (
	demoLayout      = "../../testdata/images/demo"
	multiarchLayout = "../../testdata/images/multiarch"
)

// runCLI runs the program in-process and returns its exit status, stdout
// and stderr.
func runCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(t.Context(), append([]string{"safeunpack"}, args...), &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

// oneErrorLine checks that stderr is exactly one "safeunpack: " line
// containing each of want.
func oneErrorLine(t *testing.T, stderr string, want ...string) {
	t.Helper()
	lines := strings.Split(strings.TrimRight(stderr, "\n"), "\n")
	last := lines[len(lines)-1]
	if !strings.HasPrefix(last, "safeunpack: ") {
		t.Errorf("stderr %q: last line does not start with \"safeunpack: \"", stderr)
	}
	for _, l := range lines[:len(lines)-1] {
		if strings.HasPrefix(l, "safeunpack: ") {
			t.Errorf("stderr %q has more than one error line", stderr)
		}
	}
	for _, w := range want {
		if !strings.Contains(last, w) {
			t.Errorf("error line %q does not mention %q", last, w)
		}
	}
}

func TestExitCodes(t *testing.T) {
	nonEmpty := t.TempDir()
	if err := os.WriteFile(filepath.Join(nonEmpty, "x"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "bundle")
	tests := []struct {
		name string
		args []string
		code int
		msg  []string // substrings of the error line; nil: no error line
	}{
		{name: "no command", args: nil, code: exitUsage, msg: []string{"no command"}},
		{name: "unknown command", args: []string{"frobnicate"}, code: exitUsage, msg: []string{"frobnicate"}},
		{name: "unknown flag", args: []string{"unpack", "--frob", "x"}, code: exitUsage, msg: []string{"frob"}},
		{name: "missing --image", args: []string{"unpack", out}, code: exitUsage, msg: []string{"--image"}},
		{name: "missing bundle", args: []string{"unpack", "--image", demoLayout}, code: exitUsage, msg: []string{"BUNDLE"}},
		{name: "bad platform", args: []string{"unpack", "--image", demoLayout, "--platform", "linux", out}, code: exitUsage, msg: []string{"linux"}},
		{name: "bad log level", args: []string{"--log-level", "loud", "list", demoLayout}, code: exitUsage, msg: []string{"loud"}},
		{name: "unknown tag", args: []string{"unpack", "--image", demoLayout + ":nope", out}, code: exitInvalidImage, msg: []string{`"nope"`, "tags: latest"}},
		{name: "unknown platform", args: []string{"unpack", "--image", multiarchLayout, "--platform", "linux/s390x", out}, code: exitInvalidImage,
			msg: []string{"linux/s390x", "linux/arm/v7"}},
		{name: "no layout", args: []string{"unpack", "--image", "/nonexistent/layout", out}, code: exitInvalidImage, msg: []string{"/nonexistent/layout"}},
		{name: "bundle exists", args: []string{"unpack", "--image", demoLayout, nonEmpty}, code: exitBundleExists, msg: []string{nonEmpty}},
		{name: "list missing layout", args: []string{"list", "--image", "/nonexistent/layout"}, code: exitInvalidImage, msg: []string{"/nonexistent"}},
		{name: "list unknown tag", args: []string{"list", demoLayout + ":v0"}, code: exitInvalidImage, msg: []string{"v0"}},
		{name: "audit missing file", args: []string{"audit", "/nonexistent/layer.tar"}, code: exitInvalidImage, msg: []string{"/nonexistent/layer.tar"}},
		{name: "audit a directory", args: []string{"audit", t.TempDir()}, code: exitUsage, msg: []string{"not a regular file"}},
		{name: "apply missing file", args: []string{"apply", "/nonexistent/layer.tar", filepath.Join(t.TempDir(), "r")}, code: exitInvalidImage},
		{name: "apply wrong args", args: []string{"apply", "x"}, code: exitUsage, msg: []string{"LAYER_FILE ROOTFS"}},
		{name: "completion zsh", args: []string{"completion", "zsh"}, code: exitUsage, msg: []string{"zsh"}},
		{name: "help", args: []string{"--help"}, code: exitOK},
		{name: "version", args: []string{"--version"}, code: exitOK},
		{name: "completion bash", args: []string{"completion", "bash"}, code: exitOK},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := runCLI(t, tc.args...)
			if code != tc.code {
				t.Fatalf("safeunpack %q: exit %d, want %d (stderr %q)", tc.args, code, tc.code, stderr)
			}
			if tc.code == exitOK {
				if stderr != "" {
					t.Errorf("stderr %q, want nothing", stderr)
				}
				return
			}
			oneErrorLine(t, stderr, tc.msg...)
		})
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("a failed unpack left %s: %v", out, err)
	}
}

func TestHelpDocumentsExitStatus(t *testing.T) {
	_, stdout, _ := runCLI(t, "--help")
	for _, w := range []string{"EXIT STATUS", "130", "unpack", "apply", "list", "audit", "--log-level", "--json"} {
		if !strings.Contains(stdout, w) {
			t.Errorf("--help does not mention %q", w)
		}
	}
	_, stdout, _ = runCLI(t, "--version")
	if !strings.Contains(stdout, unpack.Version()) {
		t.Errorf("--version = %q, want it to contain %q", stdout, unpack.Version())
	}
}

// A corrupted blob is exit status 3 with the blob named, and nothing is
// left behind or touched outside.
func TestCLIDigestMismatch(t *testing.T) {
	layout := filepath.Join(t.TempDir(), "layout")
	if err := os.CopyFS(layout, os.DirFS(demoLayout)); err != nil {
		t.Fatal(err)
	}
	listing, err := unpack.List(t.Context(), layout)
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		Config struct{ Digest string } `json:"config"`
	}
	data, err := os.ReadFile(filepath.Join(layout, "blobs", "sha256", strings.TrimPrefix(string(listing.Images[0].Digest), "sha256:")))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(layout, "blobs", "sha256", strings.TrimPrefix(m.Config.Digest, "sha256:"))
	b, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)-2] ^= 0x20
	if err := os.WriteFile(cfg, b, 0o644); err != nil {
		t.Fatal(err)
	}
	c := testutil.NewCanary(t)
	code, _, stderr := runCLI(t, "unpack", "--image", layout, filepath.Join(c.Root, "bundle"))
	if code != exitInvalidImage {
		t.Fatalf("exit %d, want %d (stderr %q)", code, exitInvalidImage, stderr)
	}
	oneErrorLine(t, stderr, "digest mismatch", m.Config.Digest)
	entries, _ := os.ReadDir(c.Root)
	for _, e := range entries {
		t.Errorf("left behind: %s", e.Name())
	}
	c.Check(t)
}

func TestCLIListJSONAfterArgs(t *testing.T) {
	code, stdout, stderr := runCLI(t, "list", multiarchLayout, "--json")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var l unpack.Listing
	if err := json.Unmarshal([]byte(stdout), &l); err != nil {
		t.Fatalf("stdout is not JSON: %v\n%s", err, stdout)
	}
	if len(l.Images) != 3 || l.Images[2].Tag != "amd64-only" {
		t.Errorf("listing = %+v", l)
	}
	code, stdout, _ = runCLI(t, "list", "--image", multiarchLayout)
	if code != exitOK || !strings.Contains(stdout, "linux/arm/v7") || !strings.Contains(stdout, "amd64-only") {
		t.Errorf("list table (exit %d):\n%s", code, stdout)
	}
}

func TestReorderArgs(t *testing.T) {
	app := newApp(newState(&bytes.Buffer{}, &bytes.Buffer{}))
	tests := []struct{ in, want string }{
		{"safeunpack unpack --image x b", "safeunpack unpack --image x b"},
		{"safeunpack unpack b --image x", "safeunpack unpack --image x b"},
		{"safeunpack unpack b --image=x --json", "safeunpack unpack --image=x --json b"},
		{"safeunpack audit f --json", "safeunpack audit --json f"},
		{"safeunpack audit f --log-level debug", "safeunpack --log-level debug audit f"},
		{"safeunpack --log-level info list l --json", "safeunpack --log-level info list --json l"},
		{"safeunpack apply a -- --weird-name", "safeunpack apply a -- --weird-name"},
		{"safeunpack unknown b --x", "safeunpack unknown b --x"},
		{"safeunpack unpack b --generate-bash-completion", "safeunpack unpack b --generate-bash-completion"},
		{"safeunpack", "safeunpack"},
	}
	for _, tc := range tests {
		got := strings.Join(reorderArgs(app, strings.Fields(tc.in)), " ")
		if got != tc.want {
			t.Errorf("reorderArgs(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestRenderProgress(t *testing.T) {
	got := renderProgress(unpack.Progress{Layer: 2, Layers: 3, Bytes: 512 << 10, TotalBytes: 1 << 20, Entries: 42})
	want := "layer 2/3 [############............]  50% 512.0 KiB/1.0 MiB, 42 entries"
	if got != want {
		t.Errorf("renderProgress = %q, want %q", got, want)
	}
	var buf bytes.Buffer
	b := newProgressBar(&buf)
	b.update(unpack.Progress{Layers: 1, Layer: 1})
	b.update(unpack.Progress{Layers: 1, Layer: 1, Entries: 1}) // throttled
	b.done()
	if s := buf.String(); strings.Count(s, "entries") != 1 || !strings.HasSuffix(s, "\r\x1b[K") {
		t.Errorf("bar output %q: want one drawn line, then cleared", s)
	}
	if isTerminal(os.NewFile(^uintptr(0), "bad")) {
		t.Error("an invalid descriptor is a terminal")
	}
}

func TestCommandsHaveUsage(t *testing.T) {
	app := newApp(newState(&bytes.Buffer{}, &bytes.Buffer{}))
	var names []string
	for _, c := range app.Commands {
		names = append(names, c.Name)
		if c.Usage == "" || c.Action == nil {
			t.Errorf("command %s lacks usage or action", c.Name)
		}
	}
	if !slices.Equal(names, []string{"unpack", "apply", "list", "audit", "completion"}) || !app.EnableBashCompletion {
		t.Errorf("commands %q, bash completion %v", names, app.EnableBashCompletion)
	}
	var _ cli.ExitErrHandlerFunc = app.ExitErrHandler
}

// layerBlobs returns the layer blob paths of index.json's first manifest.
func layerBlobs(t *testing.T, layout string) []string {
	t.Helper()
	blob := func(d string) string {
		return filepath.Join(layout, "blobs", "sha256", strings.TrimPrefix(d, "sha256:"))
	}
	var idx struct{ Manifests []struct{ Digest string } }
	var m struct{ Layers []struct{ Digest string } }
	for _, step := range []struct {
		path string
		v    any
	}{{filepath.Join(layout, "index.json"), &idx}, {"", &m}} {
		p := step.path
		if p == "" {
			p = blob(idx.Manifests[0].Digest)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(data, step.v); err != nil {
			t.Fatal(err)
		}
	}
	var out []string
	for _, l := range m.Layers {
		out = append(out, blob(l.Digest))
	}
	return out
}

func TestCLIAudit(t *testing.T) {
	demo := layerBlobs(t, demoLayout)
	code, stdout, stderr := runCLI(t, "audit", demo[0])
	if code != exitFailure {
		t.Fatalf("audit of the demo base layer: exit %d, want %d (stderr %q)", code, exitFailure, stderr)
	}
	for _, w := range []string{"usr/bin/setuid-demo", "opt/devices/null", "findings"} {
		if !strings.Contains(stdout, w) {
			t.Errorf("audit output does not mention %q:\n%s", w, stdout)
		}
	}
	oneErrorLine(t, stderr, "hazardous entries")
	code, stdout, _ = runCLI(t, "audit", demo[0], "--json")
	var rep struct{ Findings []struct{ Entry string } }
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil || code != exitFailure || len(rep.Findings) == 0 {
		t.Errorf("audit --json: exit %d, %v, %d findings\n%s", code, err, len(rep.Findings), stdout)
	}
	tiny := layerBlobs(t, demoLayout)[2]
	if code, stdout, stderr := runCLI(t, "audit", tiny); code != exitOK || stderr != "" || !strings.Contains(stdout, "0 findings") {
		t.Errorf("audit of a benign layer: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
}

// apply creates the rootfs, detects compression and applies whiteouts to
// what the rootfs already holds.
func TestCLIApply(t *testing.T) {
	uid, gid := os.Getuid(), os.Getgid()
	mk := func(name string, comp imagegen.Compression, entries ...imagegen.Entry) string {
		raw, err := imagegen.Tar(entries)
		if err != nil {
			t.Fatal(err)
		}
		data, err := imagegen.Compress(raw, comp)
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(t.TempDir(), name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	one := mk("one.tar.gz", imagegen.Gzip,
		imagegen.Dir("d", 0o755, uid, gid), imagegen.File("d/a", 0o644, uid, gid, "a"), imagegen.File("d/b", 0o644, uid, gid, "b"))
	two := mk("two.tar.zst", imagegen.Zstd,
		imagegen.Dir("d", 0o755, uid, gid), imagegen.Whiteout("d", "a"), imagegen.File("d/c", 0o600, uid, gid, "c"))
	rootfs := filepath.Join(t.TempDir(), "new", "rootfs")
	for _, f := range []string{one, two} {
		code, stdout, stderr := runCLI(t, "apply", f, rootfs)
		if code != exitOK || !strings.HasPrefix(stdout, "applied ") {
			t.Fatalf("apply %s: exit %d, stdout %q, stderr %q", f, code, stdout, stderr)
		}
	}
	entries, err := os.ReadDir(filepath.Join(rootfs, "d"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if !slices.Equal(names, []string{"b", "c"}) {
		t.Errorf("rootfs/d = %q, want [b c]", names)
	}
	// A hostile entry is refused with status 3 and nothing escapes.
	c := testutil.NewCanary(t)
	evil := mk("evil.tar", imagegen.None, imagegen.Symlink("escape", c.Victim), imagegen.File("escape/hello", 0o644, uid, gid, "pwned"))
	code, _, stderr := runCLI(t, "apply", evil, c.Root)
	c.Check(t)
	if code == exitOK {
		// Writing through the symlink stays in the root: escape/hello
		// must then be a file under the root.
		if data, err := os.ReadFile(filepath.Join(c.Root, c.Victim, "hello")); err != nil || string(data) != "pwned" {
			t.Errorf("apply of a symlink-then-write layer succeeded but the file is not re-rooted: %q, %v", data, err)
		}
	} else {
		oneErrorLine(t, stderr)
	}
}
