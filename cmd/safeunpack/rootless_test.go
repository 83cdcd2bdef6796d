package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/safeunpack/safeunpack/internal/testutil"
	"github.com/safeunpack/safeunpack/internal/userns"
	"github.com/safeunpack/safeunpack/unpack"
)

// TestCLIOwnershipFlagErrors: bad --uid-map and --gid-map values are usage
// errors (status 2) naming the value, found before anything is read.
func TestCLIOwnershipFlagErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		msg  string // in the error line
	}{
		{[]string{"--uid-map", "0:1000"}, `"0:1000"`},
		{[]string{"--gid-map", "0:x:1"}, `"x"`},
		{[]string{"--uid-map", "0:100000:0"}, "size 0"},
		{[]string{"--uid-map", "0:100000:10,5:200000:10"}, "overlap"},
		{[]string{"--uid-map", "0:100000:10", "--uid-map", "20:100005:10"}, "overlap"},
		{[]string{"--gid-map", "4294967295:0:2"}, "overflows"},
	} {
		for _, cmd := range [][]string{
			{"unpack", "--image", "/nonexistent", filepath.Join(t.TempDir(), "b")},
			{"apply", "/nonexistent.tar", filepath.Join(t.TempDir(), "r")},
		} {
			code, _, stderr := runCLI(t, append(cmd, tc.args...)...)
			if code != exitUsage {
				t.Errorf("%s %q: exit %d, want %d; stderr %q", cmd[0], tc.args, code, exitUsage, stderr)
				continue
			}
			oneErrorLine(t, stderr, tc.msg)
		}
	}
}

// TestCLILogsMode: at --log-level=info the CLI says which ownership mode
// it chose and why, in one line, and the choice follows userns.Detect;
// --rootless forces it. safeunpack.json records it.
func TestCLILogsMode(t *testing.T) {
	info, err := userns.Detect()
	if err != nil {
		t.Fatal(err)
	}
	want := `msg="privileged unpack`
	if info.Mode != userns.InitialRoot {
		want = `msg="rootless unpack: owners`
	}
	layout := ownedByCaller(t)
	for _, tc := range []struct {
		flags []string
		want  string // the mode line starts so
	}{
		{nil, want},
		{[]string{"--rootless"}, `msg="rootless unpack (--rootless)`},
	} {
		bundle := filepath.Join(t.TempDir(), "bundle")
		args := append([]string{"--log-level=info", "unpack", "--image", layout, bundle}, tc.flags...)
		code, _, stderr := runCLI(t, args...)
		if code != exitOK {
			t.Fatalf("%q: exit %d: %s", args, code, stderr)
		}
		var lines []string
		for _, l := range strings.Split(stderr, "\n") {
			if strings.Contains(l, "unpack") && strings.Contains(l, "reason=") {
				lines = append(lines, l)
			}
		}
		if len(lines) != 1 || !strings.Contains(lines[0], tc.want) || !strings.Contains(lines[0], info.Reason()) {
			t.Errorf("%q: mode lines %q, want one starting %s with reason %q", args, lines, tc.want, info.Reason())
		}
		var rec unpack.Record
		data, err := os.ReadFile(filepath.Join(bundle, unpack.RecordFile))
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(data, &rec); err != nil {
			t.Fatal(err)
		}
		if rec.Options.Rootless != (tc.flags != nil || info.Mode != userns.InitialRoot) || rec.Options.Privilege != info.Mode.String() {
			t.Errorf("%q: recorded options %+v", args, rec.Options)
		}
	}
}

// ownedByCaller is a one-layer image whose files belong to the caller.
func ownedByCaller(t *testing.T) string {
	t.Helper()
	return largeLayout(t, 10)
}

// TestCLIUIDMap, as root: --uid-map and --gid-map give every entry the
// mapped owner; an id outside them fails (status 3) with one line naming
// the entry and the id and pointing at subordinate ids; nothing is left.
func TestCLIUIDMap(t *testing.T) {
	testutil.RequireRoot(t)
	bundle := filepath.Join(t.TempDir(), "bundle")
	code, _, stderr := runCLI(t, "unpack", "--uid-map", "0:100000:65536", "--gid-map", "0:100000:65536",
		"--image", demoLayout, bundle)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for name, want := range map[string][2]uint32{
		"rootfs/bin/hello":           {100000, 100000},
		"rootfs/home/demo/notes.txt": {101000, 101000},
		"rootfs/var/cache/demo":      {101000, 100050},
		"rootfs":                     {100000, 100000},
	} {
		var st unix.Stat_t
		if err := unix.Lstat(filepath.Join(bundle, name), &st); err != nil {
			t.Fatal(err)
		}
		if st.Uid != want[0] || st.Gid != want[1] {
			t.Errorf("%s: owner %d:%d, want %d:%d", name, st.Uid, st.Gid, want[0], want[1])
		}
	}
	parent := t.TempDir()
	code, _, stderr = runCLI(t, "unpack", "--uid-map", "0:100000:1000", "--gid-map", "0:100000:65536",
		"--image", demoLayout, filepath.Join(parent, "bundle"))
	if code != exitInvalidImage {
		t.Fatalf("unmapped uid: exit %d, want %d; %s", code, exitInvalidImage, stderr)
	}
	oneErrorLine(t, stderr, "uid 1000", "entry ", "/etc/subuid")
	if entries, _ := os.ReadDir(parent); len(entries) != 0 {
		t.Errorf("left behind: %v", entries)
	}
}

// asNobody returns process attributes that run a command as nobody.
func asNobody() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: testutil.NobodyID, Gid: testutil.NobodyID}}
}
