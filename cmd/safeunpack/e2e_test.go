package main

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	v1 "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/safeunpack/safeunpack/internal/imagegen"
	"github.com/safeunpack/safeunpack/internal/testutil"
)

// demoOutput is what the demo image's program prints when the bundle is
// right: the config's user (1000, with the supplementary group 50 from
// /etc/group), cwd and environment; a lower-layer file read directly and
// through an absolute symlink (resolved inside the container); a file
// removed by a whiteout; a directory made opaque; a file overwritten by a
// later layer; a file owned by the user.
const demoOutput = `hello from the safeunpack demo image
uid=1000 gid=1000 groups=50,1000
cwd=/home/demo
DEMO_GREETING=hello from safeunpack
/usr/share/demo/message.txt: hello from the base layer
/etc/motd: hello from the base layer
/usr/share/demo/removed.txt: absent
/opt/opaque: [new.txt]
/usr/share/demo/version.txt: 2
/home/demo/notes.txt: owned by the demo user
`

// TestDemoBundleRunsWithCrun unpacks the demo image with the CLI and starts
// the bundle with crun, checking the program's output.
func TestDemoBundleRunsWithCrun(t *testing.T) {
	testutil.RequireRoot(t) // the demo has a device node and files of uid 1000
	crun := testutil.RequireCommand(t, "crun")
	bundle := filepath.Join(t.TempDir(), "bundle")
	code, stdout, stderr := runCLI(t, "unpack", "--image", demoLayout+":latest", bundle)
	if code != exitOK {
		t.Fatalf("unpack: exit %d\n%s%s", code, stdout, stderr)
	}
	if !strings.HasPrefix(stdout, "unpacked ") || stderr != "" {
		t.Errorf("unpack output: stdout %q stderr %q", stdout, stderr)
	}
	got, err := runCrun(t, crun, bundle)
	if err != nil {
		t.Fatalf("crun run: %v\n%s", err, got)
	}
	if got != demoOutput {
		t.Errorf("container output:\n%s\nwant:\n%s", got, demoOutput)
	}
}

// runCrun runs the bundle with crun, its state under a temp dir. On a host
// with hybrid cgroups whose unified hierarchy has controllers, crun 1.8
// refuses to start ("cgroups in hybrid mode not supported"); the
// unified mount is then hidden in a private mount namespace that only crun
// sees, which leaves crun the cgroup v1 hierarchies.
func runCrun(t *testing.T, crun, bundle string) (string, error) {
	t.Helper()
	state := t.TempDir()
	id := fmt.Sprintf("safeunpack-test-%d-%d", os.Getpid(), time.Now().UnixNano())
	args := []string{crun, "--root", state, "run", "--bundle", bundle, id}
	args = hideUnifiedCgroup(t, args)
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	_ = exec.Command(crun, "--root", state, "delete", "--force", id).Run()
	if err != nil {
		return out.String() + errOut.String(), err
	}
	return out.String(), nil
}

// hideUnifiedCgroup wraps the crun command args, on a hybrid cgroup host
// whose v2 hierarchy at /sys/fs/cgroup/unified has controllers, so that
// crun runs in a private mount namespace without that mount, which crun
// 1.8 otherwise refuses to start with (docs/unpack.md).
func hideUnifiedCgroup(t *testing.T, args []string) []string {
	t.Helper()
	data, err := os.ReadFile("/sys/fs/cgroup/unified/cgroup.controllers")
	if err != nil || len(bytes.TrimSpace(data)) == 0 {
		return args
	}
	unshare := testutil.RequireCommand(t, "unshare")
	return append([]string{unshare, "--mount", "--propagation", "private", "sh", "-c",
		`umount -l /sys/fs/cgroup/unified && exec "$0" "$@"`}, args...)
}

// buildCLI compiles the program into a temp dir.
func buildCLI(t *testing.T) string {
	t.Helper()
	goBin := testutil.RequireCommand(t, "go")
	bin := filepath.Join(t.TempDir(), "safeunpack")
	out, err := exec.Command(goBin, "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// largeLayout writes an image with one gzip layer of n empty files in
// directories of 1000, owned by the caller so that any user can unpack it.
func largeLayout(t *testing.T, n int) string {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	uid, gid := os.Getuid(), os.Getgid()
	for i := range n {
		if i%1000 == 0 {
			if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: fmt.Sprintf("d%04d/", i/1000), Mode: 0o755,
				Uid: uid, Gid: gid, ModTime: imagegen.Epoch}); err != nil {
				t.Fatal(err)
			}
		}
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: fmt.Sprintf("d%04d/f%06d", i/1000, i), Mode: 0o644,
			Uid: uid, Gid: gid, ModTime: imagegen.Epoch}); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "large")
	l, err := imagegen.Create(dir)
	if err != nil {
		t.Fatal(err)
	}
	md, err := l.Image(imagegen.Image{
		Layers:   []imagegen.Layer{{Tar: buf.Bytes(), Compression: imagegen.Gzip}},
		Platform: v1.Platform{OS: "linux", Architecture: "amd64"},
		Config:   v1.ImageConfig{Cmd: []string{"/bin/true"}, User: fmt.Sprintf("%d:%d", uid, gid)},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := l.WriteIndex(imagegen.Tagged(md, "latest")); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestSignalLeavesNothing interrupts a large unpack halfway, once with
// SIGINT and once with SIGTERM: the exit status says which, stderr has one
// line, and neither the bundle nor the staging directory is left.
func TestSignalLeavesNothing(t *testing.T) {
	testutil.RequireLong(t)
	bin := buildCLI(t)
	layout := largeLayout(t, 150_000)
	for _, tc := range []struct {
		sig  syscall.Signal
		code int
	}{{syscall.SIGINT, exitInterrupted}, {syscall.SIGTERM, exitTerminated}} {
		t.Run(tc.sig.String(), func(t *testing.T) {
			parent := t.TempDir()
			cmd := exec.Command(bin, "unpack", "--image", layout, "--platform", "linux/amd64", filepath.Join(parent, "bundle"))
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			// Wait until extraction is under way: the staging rootfs has
			// its first directories.
			deadline := time.Now().Add(30 * time.Second)
			for {
				m, _ := filepath.Glob(filepath.Join(parent, ".bundle"+".safeunpack-staging-*", "rootfs", "d0002"))
				if len(m) > 0 {
					break
				}
				if time.Now().After(deadline) {
					_ = cmd.Process.Kill()
					_ = cmd.Wait()
					t.Fatalf("extraction did not start within 30s; stderr %q", stderr.String())
				}
				time.Sleep(2 * time.Millisecond)
			}
			if err := cmd.Process.Signal(tc.sig); err != nil {
				t.Fatal(err)
			}
			err := cmd.Wait()
			ee, ok := errors.AsType[*exec.ExitError](err)
			if !ok {
				t.Fatalf("unpack was not interrupted (finished first?): %v, stderr %q", err, stderr.String())
			}
			if ee.ExitCode() != tc.code {
				t.Errorf("exit status %d, want %d; stderr %q", ee.ExitCode(), tc.code, stderr.String())
			}
			oneErrorLine(t, stderr.String(), "signal received")
			entries, err := os.ReadDir(parent)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range entries {
				t.Errorf("left behind after %s: %s", tc.sig, e.Name())
			}
		})
	}
}
