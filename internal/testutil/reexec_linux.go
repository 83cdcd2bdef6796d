package testutil

import (
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
)

// ReexecMode says how a test re-executes itself.
type ReexecMode string

const (
	// AsSelf re-runs the test with the same credentials, for tests that
	// must change process-wide state (a seccomp filter) in a throwaway
	// process.
	AsSelf ReexecMode = "self"
	// AsNobody runs the test as uid/gid 65534 in the initial user namespace.
	AsNobody ReexecMode = "nobody"
	// InUserNS runs the test in a new user namespace that maps only
	// NobodyID, like `unshare -U` run by root without -r: the child keeps
	// host uid 0, which the namespace does not map, so it is the overflow
	// uid 65534 there and has no capabilities after exec.
	InUserNS ReexecMode = "userns"
	// InUserMountNS is InUserNS plus a new mount namespace.
	InUserMountNS ReexecMode = "userns-mntns"
	// InUserNSRoot runs the test as root of a new user namespace whose
	// root is mapped to NobodyID, like `unshare -U -r` run by user nobody:
	// every capability inside that namespace, none over the host's pid or
	// mount namespaces (so mounting procfs, or anything in the host mount
	// namespace, is refused).
	InUserNSRoot ReexecMode = "userns-root"
	// InUserMountNSRoot is InUserNSRoot plus a new mount namespace owned
	// by the user namespace (`unshare -U -r -m`).
	InUserMountNSRoot ReexecMode = "userns-root-mntns"
	// InUserNSRootRange runs the test as root of a new user namespace that
	// maps SubIDCount ids from SubIDBase, like a rootless container
	// runtime with a subordinate id range from /etc/subuid: ids 0 to
	// SubIDCount-1 can be chowned to inside it, no other.
	InUserNSRootRange ReexecMode = "userns-root-range"
)

// SubIDBase and SubIDCount are the host ids InUserNSRootRange maps, the
// first range useradd gives in /etc/subuid.
const (
	SubIDBase  = 100000
	SubIDCount = 65536
)

// reexecEnv names the environment variable that marks a re-executed child.
const reexecEnv = "SAFEUNPACK_TEST_REEXEC"

// NobodyID is the uid and gid used for unprivileged runs.
const NobodyID = 65534

// ReexecChild reports the mode this process was re-executed in, or "" in the
// parent. A test calls it first; in the child it runs its unprivileged body.
func ReexecChild() ReexecMode { return ReexecMode(os.Getenv(reexecEnv)) }

// Reexec runs the calling test again in a child process in the given mode and
// fails the test if the child fails. Only root can create these children; as
// an ordinary user the test is skipped, since the parent is then itself the
// unprivileged case (AsSelf works for anybody). The child sees
// ReexecChild() == mode; extra environment entries can be passed as "K=V".
func Reexec(t testing.TB, mode ReexecMode, env ...string) {
	t.Helper()
	var parts []string
	for _, p := range strings.Split(t.Name(), "/") {
		parts = append(parts, "^"+regexp.QuoteMeta(p)+"$")
	}
	ReexecPattern(t, mode, strings.Join(parts, "/"), env...)
}

// ReexecUserNSRoot is Reexec; it remains for the user-namespace-root modes'
// callers.
func ReexecUserNSRoot(t testing.TB, mode ReexecMode, env ...string) {
	t.Helper()
	Reexec(t, mode, env...)
}

// ReexecPattern is Reexec for the tests matching a -test.run pattern: the
// way to run a package's non-privileged tests again as nobody or in a user
// namespace from a root run.
func ReexecPattern(t testing.TB, mode ReexecMode, pattern string, env ...string) {
	t.Helper()
	if !IsRoot() && mode != AsSelf {
		t.Skip("re-executing as another user requires root; this run is already unprivileged")
	}
	attr, err := reexecAttr(mode)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exposedTestBinary(t), "-test.run="+pattern, "-test.count=1", "-test.v")
	if testing.Short() {
		cmd.Args = append(cmd.Args, "-test.short")
	}
	cmd.Env = append(os.Environ(), reexecEnv+"="+string(mode), "HOME=/", "GOCOVERDIR=")
	cmd.Env = append(cmd.Env, env...)
	cmd.Dir, _ = os.Getwd()
	cmd.SysProcAttr = attr
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	err = cmd.Run()
	t.Logf("child (%s) output:\n%s", mode, out.String())
	if err != nil {
		t.Fatalf("child (%s) failed: %v", mode, err)
	}
	if strings.Contains(out.String(), "no tests to run") || !strings.Contains(out.String(), "--- ") {
		t.Fatalf("child (%s) ran no test", mode)
	}
}

// reexecAttr builds the credentials and namespaces of a child.
func reexecAttr(mode ReexecMode) (*syscall.SysProcAttr, error) {
	attr := &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	nobodyMap := []syscall.SysProcIDMap{{ContainerID: 0, HostID: NobodyID, Size: 1}}
	switch mode {
	case AsSelf:
	case AsNobody:
		attr.Credential = &syscall.Credential{Uid: NobodyID, Gid: NobodyID}
	case InUserNS, InUserMountNS, InUserNSRoot, InUserMountNSRoot, InUserNSRootRange:
		attr.Cloneflags = syscall.CLONE_NEWUSER
		if mode == InUserMountNS || mode == InUserMountNSRoot {
			attr.Cloneflags |= syscall.CLONE_NEWNS
		}
		attr.UidMappings, attr.GidMappings = nobodyMap, nobodyMap
		attr.GidMappingsEnableSetgroups = false
		if mode == InUserNSRootRange {
			rangeMap := []syscall.SysProcIDMap{{ContainerID: 0, HostID: SubIDBase, Size: SubIDCount}}
			attr.UidMappings, attr.GidMappings = rangeMap, rangeMap
		}
		if mode == InUserNSRoot || mode == InUserMountNSRoot || mode == InUserNSRootRange {
			// Ids inside the new namespace: its root, which is host nobody.
			attr.Credential = &syscall.Credential{Uid: 0, Gid: 0, NoSetGroups: true}
		}
	default:
		return nil, &os.PathError{Op: "reexec", Path: string(mode), Err: syscall.EINVAL}
	}
	return attr, nil
}

// exposedTestBinary copies the running test binary to a directory every user
// can read, since go test's build directory is private to its owner.
func exposedTestBinary(t testing.TB) string {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "safeunpack-reexec-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(dir, filepath.Base(self))
	in, err := os.Open(self)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_EXCL, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
	return dst
}

// PrivateTempDir returns a fresh directory that the unprivileged child of
// Reexec can write: t.TempDir chowned to NobodyID when running as root.
func PrivateTempDir(t testing.TB) string {
	t.Helper()
	d := t.TempDir()
	if IsRoot() {
		if err := os.Chown(d, NobodyID, NobodyID); err != nil {
			t.Fatal(err)
		}
		// Parents of t.TempDir are 0700 root: let the child reach it.
		for p := filepath.Dir(d); p != os.TempDir() && p != "/" && p != "."; p = filepath.Dir(p) {
			_ = os.Chmod(p, 0o755)
		}
	}
	return d
}
