package procfs

import (
	"errors"
	"runtime"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// invalidLabel is a value no LSM accepts (a leading '/' is invalid for
// SELinux contexts, Smack labels and AppArmor commands) and that, with no
// LSM at all, is refused with EINVAL. A write of it that succeeds therefore
// landed in some other file, such as /proc/self/sched, which takes any write.
const invalidLabel = "/safeunpack-invalid-label"

func TestCheckAttr(t *testing.T) {
	for _, tc := range []struct {
		name, value string
		ok          bool
	}{
		{"current", "x", true},
		{"exec", "", true},
		{"fscreate", "x", true},
		{"keycreate", "x", true},
		{"sockcreate", "x", true},
		{"apparmor/exec", "x", true},
		{"smack/current", "x", true},
		{"prev", "x", false},
		{"../sched", "x", false},
		{"/current", "x", false},
		{"Apparmor/exec", "x", false},
		{"apparmor/../exec", "x", false},
		{"a/b/current", "x", false},
		{"", "x", false},
		{"current", strings.Repeat("x", maxAttrSize+1), false},
	} {
		err := checkAttr(tc.name, tc.value)
		if tc.ok != (err == nil) {
			t.Errorf("checkAttr(%q, %d bytes): got %v, want ok %t", tc.name, len(tc.value), err, tc.ok)
		}
		if !tc.ok && tc.name != "current" {
			if err := WriteAttr(tc.name, tc.value); !errors.Is(err, unix.EINVAL) {
				t.Errorf("WriteAttr(%q): got err %v, want EINVAL before any I/O", tc.name, err)
			}
		}
	}
}

// TestWriteAttr writes a label no LSM accepts: the write must reach the real
// attr file, which refuses it, never a file that accepts it.
func TestWriteAttr(t *testing.T) {
	forEachVariant(t, func(t *testing.T) {
		err := WriteAttr("current", invalidLabel)
		if err == nil {
			t.Fatal("WriteAttr of an invalid label succeeded: it did not reach the LSM")
		}
		if errors.Is(err, ErrUnsafeProcfs) {
			t.Fatalf("WriteAttr on an untouched /proc: %v", err)
		}
	})
}

// TestCheckAttrFd checks the last line of defence of WriteAttr: procfs
// files that are not attr files are refused even on the right mount.
func TestCheckAttrFd(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	h, err := OpenHandle()
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	for _, tc := range []struct {
		base Base
		sub  string // opened file, checked as attr/current
		ok   bool
	}{
		{ProcThreadSelf, "attr/current", true},
		{ProcThreadSelf, "attr/exec", false}, // the wrong attr file
		{ProcThreadSelf, "sched", false},     // CVE-2025-52881: takes any write, mode 0644
		{ProcThreadSelf, "uid_map", false},   // mode 0644
		{ProcSelf, "timerslack_ns", false},   // mode 0666: only its name gives it away
		{ProcSelf, "attr/current", false},    // another thread's (the leader's) attr
	} {
		f, err := h.Open(tc.base, tc.sub, unix.O_RDONLY)
		if err != nil {
			t.Fatalf("open %s: %v", tc.sub, err)
		}
		err = h.checkAttrFd(int(f.Fd()), "current")
		_ = f.Close()
		if tc.ok && err != nil {
			t.Errorf("checkAttrFd(%s): %v", tc.sub, err)
		}
		if !tc.ok {
			wantUnsafe(t, "checkAttrFd("+tc.sub+")", err)
		}
	}
}
