package unpack

import (
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/safeunpack/safeunpack/internal/testutil"
)

// TestNoForbiddenImports: the library packages never link a CLI framework
// or os/exec (house style rule 1; T24: no external programs).
func TestNoForbiddenImports(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("test requires the go command on PATH")
	}
	forbidden := []string{"github.com/urfave/cli", "github.com/spf13/cobra", "os/exec"}
	for _, pkg := range []string{"github.com/safeunpack/safeunpack/unpack", "github.com/safeunpack/safeunpack/layer"} {
		cmd := exec.Command(goBin, "list", "-deps", pkg)
		cmd.Env = append(os.Environ(), "GOCACHE="+t.TempDir())
		out, err := cmd.CombinedOutput()
		if err != nil && !testutil.IsRoot() {
			// As nobody the module cache under root's home is unreadable;
			// the root pass of the suite runs this test.
			t.Skipf("go list cannot run as uid %d here (%v): %s", os.Getuid(), err, strings.TrimSpace(string(out)))
		}
		if err != nil {
			t.Fatalf("go list -deps %s: %v\n%s", pkg, err, out)
		}
		deps := strings.Fields(string(out))
		if len(deps) < 5 {
			t.Fatalf("go list -deps %s listed only %q", pkg, deps)
		}
		for _, dep := range deps {
			for _, f := range forbidden {
				if dep == f || strings.HasPrefix(dep, f+"/") {
					t.Errorf("%s depends on %s", pkg, dep)
				}
			}
		}
	}
}
