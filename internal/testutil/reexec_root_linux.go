package testutil

import (
	"bytes"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"
)

const (
	// InUserNSRoot runs the test as root of a new user namespace whose
	// root is mapped to NobodyID, like `unshare -U -r` run by user nobody:
	// every capability inside that namespace, none over the host's pid or
	// mount namespaces (so mounting procfs, or anything in the host mount
	// namespace, is refused).
	//
	// It differs from InUserNS, whose child keeps the host uid 0, which
	// the namespace does not map: that child is the overflow uid 65534
	// and loses every capability at exec, like `unshare -U` without -r.
	InUserNSRoot ReexecMode = "userns-root"
	// InUserMountNSRoot is InUserNSRoot plus a new mount namespace owned
	// by the user namespace (`unshare -U -r -m`).
	InUserMountNSRoot ReexecMode = "userns-root-mntns"
)

// ReexecUserNSRoot is Reexec for the modes InUserNSRoot and
// InUserMountNSRoot: the child switches to uid and gid 0 inside its new
// user namespace (host uid and gid NobodyID) before exec, so it keeps the
// namespace's capabilities. Only root can create this child; as an
// ordinary user the test is skipped.
func ReexecUserNSRoot(t testing.TB, mode ReexecMode, env ...string) {
	t.Helper()
	if !IsRoot() {
		t.Skip("re-executing in a user namespace requires root; this run is already unprivileged")
	}
	attr := &syscall.SysProcAttr{
		Cloneflags:                 syscall.CLONE_NEWUSER,
		UidMappings:                []syscall.SysProcIDMap{{ContainerID: 0, HostID: NobodyID, Size: 1}},
		GidMappings:                []syscall.SysProcIDMap{{ContainerID: 0, HostID: NobodyID, Size: 1}},
		GidMappingsEnableSetgroups: false,
		// Ids inside the new namespace: its root, which is host nobody.
		Credential: &syscall.Credential{Uid: 0, Gid: 0, NoSetGroups: true},
		Pdeathsig:  syscall.SIGKILL,
	}
	switch mode {
	case InUserNSRoot:
	case InUserMountNSRoot:
		attr.Cloneflags |= syscall.CLONE_NEWNS
	default:
		t.Fatalf("ReexecUserNSRoot: unsupported mode %q", mode)
	}
	var parts []string
	for _, p := range strings.Split(t.Name(), "/") {
		parts = append(parts, "^"+regexp.QuoteMeta(p)+"$")
	}
	cmd := exec.Command(exposedTestBinary(t), "-test.run="+strings.Join(parts, "/"), "-test.count=1", "-test.v")
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
	err := cmd.Run()
	t.Logf("child (%s) output:\n%s", mode, out.String())
	if err != nil {
		t.Fatalf("child (%s) failed: %v", mode, err)
	}
	if strings.Contains(out.String(), "no tests to run") || !strings.Contains(out.String(), "--- ") {
		t.Fatalf("child (%s) ran no test", mode)
	}
}
