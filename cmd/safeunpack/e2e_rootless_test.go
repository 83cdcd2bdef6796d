package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/safeunpack/safeunpack/internal/testutil"
)

// TestRootlessDemoBundleRunsWithCrun unpacks the demo image as nobody
// (rootless, chosen by detection) and starts the bundle with
// `crun --rootless=true run` as nobody. The demo runs as uid 1000, which a
// user namespace mapping only the caller cannot hold (the unpack warns
// about it): the test runs it as container root instead, so the uid line
// of its output reads uid=0. A control bundle made by `crun spec
// --rootless` around the same rootfs runs first: when crun cannot start a
// rootless container on this machine at all, the test is skipped with
// crun's own words.
func TestRootlessDemoBundleRunsWithCrun(t *testing.T) {
	crun := testutil.RequireCommand(t, "crun")
	if testutil.IsRoot() {
		testutil.RequireCommand(t, "setpriv")
	}
	dir := testutil.PrivateTempDir(t)
	demo, err := filepath.Abs(demoLayout)
	if err != nil {
		t.Fatal(err)
	}
	bundle := filepath.Join(dir, "bundle")
	args := []string{"--log-level=info", "unpack", "--image", demo, bundle}
	var stderr bytes.Buffer
	if testutil.IsRoot() {
		// Unpack as nobody: the program, built, run with nobody's ids.
		bin := filepath.Join(dir, "safeunpack")
		if out, err := exec.Command(testutil.RequireCommand(t, "go"), "build", "-o", bin, ".").CombinedOutput(); err != nil {
			t.Fatalf("go build: %v\n%s", err, out)
		}
		cmd := exec.Command(bin, args...)
		cmd.SysProcAttr = asNobody()
		cmd.Stderr = &stderr
		if err := cmd.Run(); err != nil {
			t.Fatalf("unpack as nobody: %v\n%s", err, stderr.String())
		}
	} else {
		code, _, errOut := runCLI(t, args...)
		stderr.WriteString(errOut)
		if code != exitOK {
			t.Fatalf("unpack: exit %d\n%s", code, errOut)
		}
	}
	for _, want := range []string{`msg="rootless unpack: owners`, "not entirely mapped", "1 device nodes created as empty regular files"} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("unpack log lacks %q:\n%s", want, stderr.String())
		}
	}
	var spec specs.Spec
	readSpec(t, filepath.Join(bundle, "config.json"), &spec)
	spec.Process.User = specs.User{UID: 0, GID: 0}
	writeSpec(t, filepath.Join(bundle, "config.json"), &spec)

	control := filepath.Join(dir, "control")
	if err := os.Mkdir(control, 0o755); err != nil {
		t.Fatal(err)
	}
	gen := exec.Command(crun, "spec", "--rootless")
	gen.Dir = control
	if out, err := gen.CombinedOutput(); err != nil {
		t.Fatalf("crun spec --rootless: %v\n%s", err, out)
	}
	var cs specs.Spec
	readSpec(t, filepath.Join(control, "config.json"), &cs)
	cs.Root = &specs.Root{Path: filepath.Join(bundle, "rootfs")}
	cs.Process.Terminal, cs.Process.Args, cs.Process.Env, cs.Process.Cwd = false, spec.Process.Args, spec.Process.Env, spec.Process.Cwd
	writeSpec(t, filepath.Join(control, "config.json"), &cs)
	if testutil.IsRoot() {
		for _, p := range []string{control, filepath.Join(control, "config.json")} {
			if err := os.Lchown(p, testutil.NobodyID, testutil.NobodyID); err != nil {
				t.Fatal(err)
			}
		}
	}
	want := strings.Replace(demoOutput, "uid=1000 gid=1000 groups=50,1000", "uid=0 gid=0 groups=", 1)
	if out, err := runRootlessCrun(t, crun, dir, control); err != nil {
		t.Skipf("crun cannot start a rootless container on this machine (control bundle from `crun spec --rootless`): %v: %s",
			err, strings.TrimSpace(out))
	} else if out != want {
		t.Fatalf("control bundle printed:\n%s\nwant:\n%s", out, want)
	}
	out, err := runRootlessCrun(t, crun, dir, bundle)
	if err != nil {
		t.Fatalf("crun --rootless=true run of the rootless demo bundle: %v\n%s", err, out)
	}
	if out != want {
		t.Errorf("container output:\n%s\nwant:\n%s", out, want)
	}
}

// runRootlessCrun runs bundle with `crun --rootless=true` as nobody (as
// the caller when not root), its state under dir. With hybrid cgroups
// whose unified hierarchy has controllers crun 1.8 refuses to start (see
// runCrun); as root the unified mount is then hidden in a private mount
// namespace before dropping to nobody.
func runRootlessCrun(t *testing.T, crun, dir, bundle string) (string, error) {
	t.Helper()
	state, err := os.MkdirTemp(dir, "state-")
	if err != nil {
		t.Fatal(err)
	}
	id := fmt.Sprintf("safeunpack-rootless-%d-%d", os.Getpid(), time.Now().UnixNano())
	args := []string{"env", "XDG_RUNTIME_DIR=" + state, crun, "--rootless=true", "--root", state, "run", "--bundle", bundle, id}
	if testutil.IsRoot() {
		if err := os.Chown(state, testutil.NobodyID, testutil.NobodyID); err != nil {
			t.Fatal(err)
		}
		args = append([]string{"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"}, args...)
		args = hideUnifiedCgroup(t, args)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err = cmd.Run()
	if err != nil {
		return out.String() + errOut.String(), err
	}
	return out.String(), nil
}

func readSpec(t *testing.T, p string, s *specs.Spec) {
	t.Helper()
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, s); err != nil {
		t.Fatalf("%s: %v", p, err)
	}
}

// writeSpec rewrites p in place (keeping its owner).
func writeSpec(t *testing.T, p string, s *specs.Spec) {
	t.Helper()
	data, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
}
