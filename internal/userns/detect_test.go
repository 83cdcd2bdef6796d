package userns

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/safeunpack/safeunpack/internal/testutil"
	"github.com/safeunpack/safeunpack/procfs"
)

func TestDetectRoot(t *testing.T) {
	testutil.RequireRoot(t)
	info, err := Detect()
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode != InitialRoot || info.Rootless() {
		t.Fatalf("Detect as root: got %v (%s), want root", info.Mode, info.Reason())
	}
}

// TestDetectUnprivileged re-runs itself as nobody and as root of a user
// namespace; each child checks the mode it must see.
func TestDetectUnprivileged(t *testing.T) {
	switch testutil.ReexecChild() {
	case testutil.AsNobody:
		info, err := Detect()
		if err != nil {
			t.Fatal(err)
		}
		if info.Mode != Unprivileged || !info.Rootless() || info.UID != testutil.NobodyID {
			t.Fatalf("as nobody: got %v uid %d", info.Mode, info.UID)
		}
		return
	case testutil.InUserNSRoot:
		info, err := Detect()
		if err != nil {
			t.Fatal(err)
		}
		want := []procfs.IDRange{{ContainerID: 0, HostID: testutil.NobodyID, Size: 1}}
		if info.Mode != NamespaceRoot || !info.Rootless() || !equalMaps(info.UIDMap, want) {
			t.Fatalf("in a user namespace: got %v, uid_map %v", info.Mode, info.UIDMap)
		}
		return
	}
	t.Run("nobody", func(t *testing.T) { testutil.Reexec(t, testutil.AsNobody) })
	t.Run("userns", func(t *testing.T) { testutil.ReexecUserNSRoot(t, testutil.InUserNSRoot) })
}

// TestDetectFakeUIDMap mounts a file claiming the identity map over this
// process's uid_map, in a child that is root of its own user and mount
// namespaces (so its true map is "0 65534 1"). Detection must read the true
// map through a detached handle or fail with ErrUnsafeProcfs; it must never
// conclude that the process is the initial root.
func TestDetectFakeUIDMap(t *testing.T) {
	if testutil.ReexecChild() != testutil.InUserMountNSRoot {
		testutil.ReexecUserNSRoot(t, testutil.InUserMountNSRoot)
		return
	}
	testutil.PrivateMountNS(t)
	dir := t.TempDir()
	if err := unix.Mount("tmpfs", dir, "tmpfs", 0, ""); err != nil {
		t.Skipf("cannot mount tmpfs in the user namespace: %v", err)
	}
	t.Cleanup(func() { _ = unix.Unmount(dir, unix.MNT_DETACH) })
	fake := filepath.Join(dir, "uid_map")
	if err := os.WriteFile(fake, []byte("         0          0 4294967295\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	mounted := 0
	for _, target := range fakeMapTargets() {
		if err := unix.Mount(fake, target, "", unix.MS_BIND, ""); err != nil {
			t.Logf("bind over %s refused: %v", target, err)
			continue
		}
		t.Cleanup(func() { _ = unix.Unmount(target, unix.MNT_DETACH) })
		mounted++
	}
	if mounted == 0 {
		t.Skip("the kernel refused every bind mount over uid_map; nothing to test")
	}
	// The overmount is real: a plain read by path sees the lie.
	if b, err := os.ReadFile(fakeMapTargets()[0]); err == nil {
		t.Logf("plain read of uid_map now says %q", b)
	}
	info, err := Detect()
	if err != nil {
		if !errors.Is(err, procfs.ErrUnsafeProcfs) {
			t.Fatalf("Detect under a fake uid_map: got %v, want the true map or ErrUnsafeProcfs", err)
		}
		return
	}
	if info.Mode == InitialRoot {
		t.Fatalf("Detect was fooled by the fake uid_map: %s", info.Reason())
	}
	want := []procfs.IDRange{{ContainerID: 0, HostID: testutil.NobodyID, Size: 1}}
	if !equalMaps(info.UIDMap, want) {
		t.Fatalf("Detect read uid_map %v, want the true %v", info.UIDMap, want)
	}
}

// fakeMapTargets are the paths a process's own uid_map is reachable by. The
// test plants the attack by path on purpose: that is what an attacker does.
func fakeMapTargets() []string {
	self := "/proc/self/uid_map"
	thread := "/proc/thread-self/uid_map"
	return []string{self, thread}
}

func TestFormatMap(t *testing.T) {
	m := []procfs.IDRange{{ContainerID: 0, HostID: 1000, Size: 1}, {ContainerID: 1, HostID: 100000, Size: 65536}}
	if got, want := FormatMap(m), "0:1000:1,1:100000:65536"; got != want {
		t.Fatalf("FormatMap: got %q, want %q", got, want)
	}
	if got := FormatMap(nil); got != "(empty)" {
		t.Fatalf("FormatMap(nil): got %q", got)
	}
}

func equalMaps(a, b []procfs.IDRange) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
