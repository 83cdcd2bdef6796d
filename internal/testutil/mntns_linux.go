package testutil

import (
	"os"
	"runtime"
	"testing"

	"golang.org/x/sys/unix"
)

// PrivateMountNS moves the calling goroutine, for the rest of its life, onto
// an OS thread with its own mount namespace whose mounts do not propagate
// anywhere, so that the test can mount freely without touching the host.
//
// It must be called from the goroutine that runs the test body (each
// t.Run subtest runs on its own goroutine and needs its own call). It
// locks the goroutine to its thread and never unlocks: when the test
// goroutine exits, the Go runtime destroys the thread and with it the
// namespace and every mount made in it (the pattern of
// cyphar/filepath-securejoin's setupMountNamespace). Threads the runtime
// starts later are cloned from its template thread, so they never inherit
// the namespace. t.Cleanup functions run on the same goroutine, so they are
// inside the namespace too.
//
// The order is what keeps the host safe: unshare(CLONE_FS|CLONE_NEWNS) must
// succeed before anything else, and "/" is made MS_PRIVATE|MS_REC before the
// function returns; any failure ends the test before a single mount is made.
// It skips the test unless euid is 0, in the initial user namespace or in
// one the test was re-executed into (InUserNSRoot): unlike RequireRoot, root
// of a user namespace qualifies, since it owns the mount namespaces it
// creates.
func PrivateMountNS(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("test requires euid 0 (of any user namespace) to create a private mount namespace")
	}
	runtime.LockOSThread() // Never unlocked: the thread must die with the test.
	if err := unix.Unshare(unix.CLONE_FS | unix.CLONE_NEWNS); err != nil {
		if err == unix.EPERM {
			t.Skip("test requires unshare(CLONE_NEWNS), refused here (EPERM)")
		}
		t.Fatalf("unshare(CLONE_FS|CLONE_NEWNS): %v", err)
	}
	if err := unix.Mount("", "/", "", unix.MS_PRIVATE|unix.MS_REC, ""); err != nil {
		t.Fatalf("mount --make-rprivate /: %v", err)
	}
}
