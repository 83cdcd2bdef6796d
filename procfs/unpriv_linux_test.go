package procfs

import (
	"errors"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/safeunpack/safeunpack/internal/testutil"
)

// TestLadderPrivilege runs the whole public API as root and, re-executed,
// as processes without CAP_SYS_ADMIN over the pid namespace: nobody, nobody
// in a user namespace, and root of a user namespace with and without its
// own mount namespace. The ladder must end at the best rung each can use,
// verified, and every operation must work there. Run as an ordinary user
// (make test-unprivileged), the "direct" subtest is the unprivileged case.
func TestLadderPrivilege(t *testing.T) {
	withReexec(t, testLadderPrivilege,
		testutil.AsNobody, testutil.InUserNS, testutil.InUserNSRoot, testutil.InUserMountNSRoot)
}

func testLadderPrivilege(t *testing.T) {
	resetCache(t)
	mode := testutil.ReexecChild()
	want := RungHostProc
	switch {
	case mode == "" && testutil.IsRoot():
		want = RungFsopen
	case mode == testutil.InUserMountNSRoot:
		// Root of a user namespace owning its mount namespace may clone
		// /proc, but may not make procfs for a pid namespace it does not
		// own.
		want = RungOpenTree
	}
	wantMap := []IDRange{{0, 0, 4294967295}}
	if mode == testutil.InUserNS || mode == testutil.InUserNSRoot || mode == testutil.InUserMountNSRoot ||
		mode == testutil.InUserMountNS {
		wantMap = []IDRange{{0, testutil.NobodyID, 1}}
	}

	h, err := OpenHandle()
	if err != nil {
		t.Fatalf("OpenHandle as euid %d (%s): %v", os.Geteuid(), mode, err)
	}
	defer h.Close()
	if h.Rung() != want {
		t.Fatalf("OpenHandle as euid %d (%s): got rung %s, want %s", os.Geteuid(), mode, h.Rung(), want)
	}
	checkHandle(t, h)
	if got := cached.Load() == h; got != (want == RungFsopen) {
		t.Errorf("%s handle cached: %t", h.Rung(), got)
	}
	info, err := Info()
	if err != nil || info.Rung != want || info.Detached != h.Detached() || info.Cached != (want == RungFsopen) {
		t.Errorf("Info: got %+v, %v; want rung %s", info, err, want)
	}
	t.Logf("euid %d (%s): %s", os.Geteuid(), mode, info)

	// Open: status is ours, as this process sees its uid.
	f, err := Open(ProcSelf, "status", unix.O_RDONLY)
	if err != nil {
		t.Fatalf("Open self/status: %v", err)
	}
	data, _ := io.ReadAll(f)
	_ = f.Close()
	if uid := "\nUid:\t" + strconv.Itoa(os.Geteuid()) + "\t"; !strings.Contains(string(data), uid) {
		t.Errorf("self/status lacks %q:\n%s", uid, data)
	}

	// FdPath and Reopen on the test binary.
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	opath, err := unix.Open(exe, unix.O_PATH|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(opath)
	if p, err := FdPath(opath); err != nil || p != exe {
		t.Errorf("FdPath: got %q, %v; want %q", p, err, exe)
	}
	r, err := Reopen(opath, unix.O_RDONLY)
	if err != nil {
		t.Fatalf("Reopen: %v", err)
	}
	if fileID(t, int(r.Fd())) != fileID(t, opath) {
		t.Error("Reopen gave another inode")
	}
	_ = r.Close()

	// ReadIDMap and WriteAttr.
	if m, err := ReadIDMap(0, "uid_map"); err != nil || !slices.Equal(m, wantMap) {
		t.Errorf("ReadIDMap: got %v, %v; want %v", m, err, wantMap)
	}
	if err := WriteAttr("current", invalidLabel); err == nil || errors.Is(err, ErrUnsafeProcfs) {
		t.Errorf("WriteAttr of an invalid label: got err %v, want the LSM's refusal", err)
	}
}
