package testutil

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/safeunpack/safeunpack/internal/linux"
)

// IsRoot reports whether the test runs as root of the initial user
// namespace: euid 0 and able to create a device node, which root of a child
// user namespace never is (so "root" tests that chown to arbitrary ids or
// make devices skip there).
var IsRoot = sync.OnceValue(func() bool {
	if os.Geteuid() != 0 {
		return false
	}
	dir, err := os.MkdirTemp("", "safeunpack-rootprobe-")
	if err != nil {
		return false
	}
	defer os.RemoveAll(dir)
	return unix.Mknod(filepath.Join(dir, "null"), unix.S_IFCHR|0o600, int(unix.Mkdev(1, 3))) == nil
})

// RequireRoot skips the test unless it runs as root.
func RequireRoot(t testing.TB) {
	t.Helper()
	if !IsRoot() {
		t.Skip("test requires root")
	}
}

// RequireNotRoot skips the test when it runs as root.
func RequireNotRoot(t testing.TB) {
	t.Helper()
	if IsRoot() {
		t.Skip("test requires an unprivileged user")
	}
}

// RequireOpenat2 skips the test when openat2(2) is unusable.
func RequireOpenat2(t testing.TB) {
	t.Helper()
	if !linux.HasOpenat2() {
		t.Skip("test requires openat2(2) (Linux 5.6)")
	}
}

// RequireMknod skips the test unless character devices can be created here.
// Any error other than EPERM fails the test: the probe must not hide bugs.
func RequireMknod(t testing.TB) {
	t.Helper()
	dir := t.TempDir()
	err := unix.Mknod(filepath.Join(dir, "null"), unix.S_IFCHR|0o600, int(unix.Mkdev(1, 3)))
	if errors.Is(err, unix.EPERM) {
		t.Skip("test requires mknod of devices (CAP_MKNOD)")
	}
	if err != nil {
		t.Fatalf("mknod probe: %v", err)
	}
}

// RequireUserXattr skips the test when the filesystem of the temp dir does
// not take user.* xattrs.
func RequireUserXattr(t testing.TB) {
	t.Helper()
	f := filepath.Join(t.TempDir(), "x")
	if err := os.WriteFile(f, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	err := unix.Setxattr(f, "user.probe", []byte("1"), 0)
	if errors.Is(err, unix.ENOTSUP) {
		t.Skip("test requires user.* xattrs on the temp dir's filesystem")
	}
	if err != nil {
		t.Fatalf("setxattr probe: %v", err)
	}
}

// RequireCommand skips the test when name is not on PATH.
func RequireCommand(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Skipf("test requires %s on PATH (make deps installs it)", name)
	}
	return p
}

// RequireLong skips the test under -short.
func RequireLong(t testing.TB) {
	t.Helper()
	if testing.Short() {
		t.Skip("skipping long or race test in -short mode")
	}
}
