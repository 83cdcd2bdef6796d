package pathrs

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/safeunpack/safeunpack/internal/linux"
)

// fuzzNames are the entries a fuzzed tree may hold.
var fuzzNames = []string{"a", "b", "c", "a/b", "a/c", "b/a", "a/b/c", "c/a", "a/b/c/d"}

// fuzzTargets are symlink targets: relative, absolute, escaping, looping,
// dangling, with trailing slashes and dot components.
var fuzzTargets = []string{
	"a", "/a", "..", "../..", "/", "a/b", "b/../a", "/a/b/c", ".", "loop", "missing",
	"../a/../b", "c/", "a/b/", "../../../../a", "/../a", "./././b", "a/b/c/d", "b/a/../../c",
	"self", "l0", "l1", "/l2", "l3/..", "",
}

// buildFuzzTree creates a tree from spec, three bytes per entry: kind
// (dir, file, symlink), entry name, symlink target. Invalid steps (missing
// parent, existing name) are skipped: any tree is fine.
func buildFuzzTree(t *testing.T, root string, spec []byte) {
	for i := 0; i+2 < len(spec) && i < 3*32; i += 3 {
		name := fuzzNames[int(spec[i+1])%len(fuzzNames)]
		if spec[i+1] >= 200 {
			name = "l" + string(rune('0'+spec[i+1]%4)) // top-level links l0..l3
		}
		p := filepath.Join(root, name)
		switch spec[i] % 3 {
		case 0:
			_ = os.Mkdir(p, 0o755)
		case 1:
			_ = os.WriteFile(p, []byte(name), 0o644)
		case 2:
			_ = os.Symlink(fuzzTargets[int(spec[i+2])%len(fuzzTargets)], p)
		}
	}
}

// FuzzResolve is a differential test with the kernel as the oracle: on a
// random tree and a random path, the emulated resolver must return what
// openat2(RESOLVE_IN_ROOT|RESOLVE_NO_MAGICLINKS) returns: the same inode, or
// the same errno. Both follow and no-follow lookups are compared.
func FuzzResolve(f *testing.F) {
	if !linux.HasOpenat2() {
		f.Skip("FuzzResolve needs openat2(2) as its oracle")
	}
	f.Add([]byte{0, 0, 0, 0, 3, 0, 2, 2, 4}, "a/b/../c")
	f.Add([]byte{0, 0, 0, 2, 200, 3, 2, 201, 20}, "l0/x/..")
	f.Add([]byte{0, 0, 0, 0, 3, 0, 0, 6, 0, 2, 1, 1}, "b/a/b/c/")
	f.Add([]byte{2, 200, 9, 2, 201, 21}, "l1/../l0")
	f.Add([]byte{0, 0, 0, 1, 3, 0}, "a/b/.")
	f.Add([]byte{2, 0, 10}, "a")
	f.Add([]byte{0, 0, 0, 2, 3, 24}, "a/b/")
	f.Fuzz(func(t *testing.T, spec []byte, unsafePath string) {
		if len(unsafePath) > 512 {
			return
		}
		root := t.TempDir()
		buildFuzzTree(t, root, spec)
		rootfd, err := unix.Open(root, unix.O_PATH|unix.O_DIRECTORY, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer unix.Close(rootfd)
		r, err := OpenRootWithOptions(root, RootOptions{Resolver: ResolverEmulated})
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		for _, nofollow := range []bool{false, true} {
			flags := unix.O_PATH
			if nofollow {
				flags |= unix.O_NOFOLLOW
			}
			oraclePath := unsafePath
			if oraclePath == "" {
				oraclePath = "." // our API treats "" as the root
			}
			kfd, kerr := kernelOracle(rootfd, oraclePath, flags)
			efd, eerr := r.openInRoot(unsafePath, flags)
			if kerr != nil || eerr != nil {
				if kerr == nil {
					unix.Close(kfd)
				}
				if eerr == nil {
					unix.Close(efd)
				}
				var kno, eno unix.Errno
				errors.As(kerr, &kno)
				eno = errnoOf(eerr)
				if kno != eno {
					t.Fatalf("path %q nofollow=%v: kernel %v, emulated %v (tree %s)", unsafePath, nofollow, kerr, eerr, describeTree(root))
				}
				continue
			}
			ki, ei := fdInode(t, kfd), fdInode(t, efd)
			unix.Close(kfd)
			unix.Close(efd)
			if ki != ei {
				t.Fatalf("path %q nofollow=%v: kernel and emulated resolved different inodes (tree %s)", unsafePath, nofollow, describeTree(root))
			}
		}
	})
}

func describeTree(root string) string {
	var b strings.Builder
	_ = filepath.Walk(root, func(p string, fi os.FileInfo, err error) error {
		if err != nil || p == root {
			return nil
		}
		rel, _ := filepath.Rel(root, p)
		if fi.Mode()&os.ModeSymlink != 0 {
			target, _ := os.Readlink(p)
			b.WriteString(rel + "->" + target + " ")
		} else if fi.IsDir() {
			b.WriteString(rel + "/ ")
		} else {
			b.WriteString(rel + " ")
		}
		return nil
	})
	return b.String()
}

// kernelOracleRetries bounds the oracle's EAGAIN retries. The kernel fails a
// ".." walk with EAGAIN after a rename anywhere on the system, and the other
// test binaries of `go test ./...` rename a lot; a fixed tree is never
// renamed, so EAGAIN is only ever noise here.
const kernelOracleRetries = 100000

// kernelOracle is the scoped openat2 lookup the emulated resolver is compared
// with, issued directly (not through pathrs) and retried on EAGAIN.
func kernelOracle(rootfd int, unsafePath string, flags int) (int, error) {
	how := &unix.OpenHow{Flags: uint64(flags | unix.O_CLOEXEC), Resolve: resolveFlags}
	for range kernelOracleRetries {
		fd, err := unix.Openat2(rootfd, unsafePath, how)
		if !errors.Is(err, unix.EAGAIN) {
			return fd, err
		}
	}
	return -1, unix.EAGAIN
}
