package unpack

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/safeunpack/safeunpack/internal/testutil"
)

// removeTree removes trees an unprivileged unpack may leave, with
// directories of modes 0500 and 0000, without following symlinks out.
func TestRemoveTree(t *testing.T) {
	c := testutil.NewCanary(t)
	stage := filepath.Join(c.Root, "stage")
	testutil.MakeTree(t, c.Root,
		"dir stage 0700",
		"dir stage/rootfs",
		"dir stage/rootfs/ro",
		"file stage/rootfs/ro/f 0400 x",
		"dir stage/rootfs/ro/deeper",
		"file stage/rootfs/ro/deeper/g 0000 y",
		"dir stage/rootfs/none",
		"file stage/rootfs/none/h 0644 z",
		"symlink stage/rootfs/victim -> $T/victim",
		"symlink stage/rootfs/ro/rel -> ../../../../victim",
	)
	for _, d := range []string{"stage/rootfs/ro/deeper", "stage/rootfs/ro"} {
		if err := os.Chmod(filepath.Join(c.Root, d), 0o500); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(filepath.Join(c.Root, "stage/rootfs/none"), 0); err != nil {
		t.Fatal(err)
	}
	c.Refresh(t)
	if err := removeTree(stage); err != nil {
		t.Fatalf("removeTree: %v", err)
	}
	if _, err := os.Lstat(stage); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("stage still exists: %v", err)
	}
	c.Check(t)
}

func TestPrepareBundle(t *testing.T) {
	parent := t.TempDir()
	s, err := prepareBundle(filepath.Join(parent, "b"))
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(s.dir)
	if err != nil || st.Mode().Perm() != 0o700 || filepath.Dir(s.dir) != parent || !strings.HasPrefix(filepath.Base(s.dir), ".b"+stagingInfix) {
		t.Fatalf("staging %s: %v, mode %v", s.dir, err, st.Mode())
	}
	// The bundle appearing meanwhile makes the commit fail, untouched.
	if err := os.MkdirAll(filepath.Join(parent, "b", "mine"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := s.commit(); !errors.Is(err, ErrBundleExists) {
		t.Errorf("commit over a new bundle: got err %v, want ErrBundleExists", err)
	}
	if _, err := os.Stat(filepath.Join(parent, "b", "mine")); err != nil {
		t.Errorf("existing bundle changed: %v", err)
	}
	if err := s.abort(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(s.dir); s.dir != "" && !errors.Is(err, os.ErrNotExist) {
		t.Errorf("abort left %s", s.dir)
	}
	for _, bad := range []string{"/", ".", parent + "/.."} {
		if _, err := prepareBundle(bad); err == nil {
			t.Errorf("prepareBundle(%q) succeeded", bad)
		}
	}
}
