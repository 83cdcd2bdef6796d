package layer

import (
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/safeunpack/safeunpack/internal/imagegen"
	"github.com/safeunpack/safeunpack/internal/testutil"
	"github.com/safeunpack/safeunpack/pathrs"
)

// umociDivergences are the paths of rootlessLayers' first layer where our
// tree differs from umoci's on purpose, and why.
var umociDivergences = map[string]string{
	// umoci sets the attribute after the mode; user.* xattrs need write
	// permission, which mode 0000 denies the owner, so umoci logs
	// "ignoring (usually) harmless EPERM" and loses the owner 0:42. We
	// record it before applying the mode.
	"etc/gshadow": "umoci cannot record the owner of a file whose mode denies its owner write access",
}

// TestRootlessMatchesUmoci unpacks the first of rootlessLayers with umoci
// (`umoci unpack --rootless`, as nobody) and applies it with this package
// (Rootless, as nobody), and compares the trees entry by entry: type,
// permissions, size, mtime and the user.rootlesscontainers bytes, which
// must be identical except where umociDivergences explains why.
func TestRootlessMatchesUmoci(t *testing.T) {
	if testutil.ReexecChild() == testutil.AsNobody {
		root := os.Getenv(rootlessDirEnv)
		l1, _ := rootlessLayers(t)
		if _, err := applyTo(t, root, pathrs.ResolverAuto, l1, Options{Rootless: true, Logger: quietLogger()}); err != nil {
			t.Fatal(err)
		}
		return
	}
	umoci, err := exec.LookPath("umoci")
	if err != nil {
		t.Skip("umoci is not installed (apt-get install umoci; make deps installs it): nothing to compare with")
	}
	dir := testutil.PrivateTempDir(t)
	layout := filepath.Join(dir, "layout")
	l, err := imagegen.Create(layout)
	if err != nil {
		t.Fatal(err)
	}
	l1, _ := rootlessLayers(t)
	md, err := l.Image(imagegen.Image{Layers: []imagegen.Layer{{Tar: l1}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := l.WriteIndex(imagegen.Tagged(md, "t")); err != nil {
		t.Fatal(err)
	}
	ours := filepath.Join(dir, "ours")
	if err := os.Mkdir(ours, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(umoci, "--log", "error", "unpack", "--rootless", "--image", layout+":t", filepath.Join(dir, "bundle"))
	if testutil.IsRoot() {
		if err := filepath.WalkDir(dir, func(p string, _ fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			return os.Lchown(p, testutil.NobodyID, testutil.NobodyID)
		}); err != nil {
			t.Fatal(err)
		}
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: testutil.NobodyID, Gid: testutil.NobodyID}}
		testutil.Reexec(t, testutil.AsNobody, rootlessDirEnv+"="+ours)
	} else if _, err := applyTo(t, ours, pathrs.ResolverAuto, l1, Options{Rootless: true, Logger: quietLogger()}); err != nil {
		t.Fatal(err)
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("umoci unpack: %v\n%s", err, out)
	}
	theirs := rawView(t, filepath.Join(dir, "bundle", "rootfs"))
	got := rawView(t, ours)
	var names []string
	for n := range theirs {
		names = append(names, n)
	}
	for n := range got {
		if _, ok := theirs[n]; !ok {
			t.Errorf("%s: only in our tree: %s", n, got[n])
		}
	}
	sort.Strings(names)
	recorded := 0
	for _, n := range names {
		g, w := got[n], theirs[n]
		if g != w && umociDivergences[n] == "" {
			t.Errorf("%s:\n ours  %s\n umoci %s", n, g, w)
		}
		if g == w && umociDivergences[n] != "" {
			t.Errorf("%s: expected to differ from umoci (%s), but both are %s", n, umociDivergences[n], g)
		}
		if g == w && len(w) > 0 && w[len(w)-1] != '-' {
			recorded++
		}
	}
	if recorded < 8 {
		t.Errorf("only %d entries carry an identical record: the comparison tested too little", recorded)
	}
}

// rawView describes each entry below root as "type mode size mtime
// record", record being the user.rootlesscontainers bytes in hex or "-".
// The walk is testutil.WalkOpened's.
func rawView(t testing.TB, root string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := testutil.WalkOpened(root, func(p, rel string, st *unix.Stat_t) error {
		mode, typ := st.Mode&0o7777, st.Mode&unix.S_IFMT
		rec := "-"
		buf := make([]byte, 64)
		n, err := unix.Lgetxattr(p, RootlessXattr, buf)
		switch {
		case err == nil:
			rec = hex.EncodeToString(buf[:n])
		case errors.Is(err, unix.ENODATA) || errors.Is(err, unix.EPERM) || errors.Is(err, unix.ENOTSUP):
		default:
			return fmt.Errorf("getxattr %s: %w", rel, err)
		}
		out[rel] = fmt.Sprintf("%o %04o %d %d %s", typ>>12, mode, st.Size, st.Mtim.Nano(), rec)
		return nil
	})
	if err != nil {
		t.Fatalf("rawView %s: %v", root, err)
	}
	return out
}
