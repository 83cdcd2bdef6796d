package testutil

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// MakeTree creates a tree under root from a spec, one entry per string,
// parents first (the DSL of ../shared/reference/go-style.md rule 16):
//
//	"dir a/b"               directory, mode 0755
//	"dir a/b 0700"          directory with a mode
//	"file a/f"              empty regular file, mode 0644
//	"file a/f 0600 hello"   regular file with a mode and contents
//	"symlink a/l -> /etc"   symlink (target verbatim; $ROOT and $T expand)
//	"hardlink a/h -> a/f"   hardlink to an existing entry (relative to root)
//	"fifo a/p"              FIFO
//	"char a/c 1 3"          character device (needs CAP_MKNOD)
//
// $ROOT expands to root and $T to root's parent directory.
func MakeTree(t testing.TB, root string, spec ...string) {
	t.Helper()
	for _, line := range spec {
		line = strings.ReplaceAll(line, "$ROOT", root)
		line = strings.ReplaceAll(line, "$T", filepath.Dir(root))
		if err := makeEntry(root, line); err != nil {
			t.Fatalf("MakeTree %q: %v", line, err)
		}
	}
}

func makeEntry(root, line string) error {
	kind, rest, _ := strings.Cut(line, " ")
	if kind == "symlink" || kind == "hardlink" {
		name, target, ok := strings.Cut(rest, " -> ")
		if !ok {
			return unix.EINVAL
		}
		p := filepath.Join(root, name)
		if kind == "symlink" {
			return os.Symlink(target, p)
		}
		return os.Link(filepath.Join(root, target), p)
	}
	fields := strings.Fields(rest)
	if len(fields) == 0 {
		return unix.EINVAL
	}
	p := filepath.Join(root, fields[0])
	mode := func(def uint32) (uint32, error) {
		if len(fields) < 2 {
			return def, nil
		}
		m, err := strconv.ParseUint(fields[1], 8, 32)
		return uint32(m), err
	}
	switch kind {
	case "dir":
		m, err := mode(0o755)
		if err != nil {
			return err
		}
		if err := os.Mkdir(p, 0o700); err != nil {
			return err
		}
		return unix.Chmod(p, m)
	case "file":
		m, err := mode(0o644)
		if err != nil {
			return err
		}
		var data string
		if len(fields) > 2 {
			data = strings.Join(fields[2:], " ")
		}
		if err := os.WriteFile(p, []byte(data), 0o600); err != nil {
			return err
		}
		return unix.Chmod(p, m)
	case "fifo":
		return unix.Mkfifo(p, 0o644)
	case "char", "block":
		if len(fields) != 3 {
			return unix.EINVAL
		}
		maj, err1 := strconv.ParseUint(fields[1], 10, 32)
		mnr, err2 := strconv.ParseUint(fields[2], 10, 32)
		if err1 != nil || err2 != nil {
			return unix.EINVAL
		}
		typ := uint32(unix.S_IFCHR)
		if kind == "block" {
			typ = unix.S_IFBLK
		}
		return unix.Mknod(p, typ|0o600, int(unix.Mkdev(uint32(maj), uint32(mnr))))
	}
	return unix.EINVAL
}
