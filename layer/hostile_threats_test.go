package layer

import (
	"archive/tar"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/safeunpack/safeunpack/internal/testutil"
	"github.com/safeunpack/safeunpack/pathrs"
)

// TestThreatsNames covers threats.md T01-T09 (names and resolution). T02's
// sibling-prefix link, T04's symlink chains and T10's links out of the
// root are in TestBreakoutsMoby; T03's single-layer variants in
// TestBreakoutsContainerd.
func TestThreatsNames(t *testing.T) { runHostile(t, threatNameCases()) }

func threatNameCases() []hostileCase {
	var cases []hostileCase
	for _, name := range []string{"../victim/dotdot", "/../victim/slash-dotdot", "a/../../victim/x", "/etc/passwd"} {
		clean := strings.TrimPrefix(filepathClean(name), "/")
		cases = append(cases, hostileCase{name: "T01/" + name, layers: func(t testing.TB, _ *testutil.Canary) [][]byte {
			return layers(newTar(t).File(name, 0o644, "in").Bytes())
		}, check: fileValue(clean, "in")})
	}
	cases = append(cases,
		hostileCase{name: "T03/two-layers", layers: func(t testing.TB, _ *testutil.Canary) [][]byte {
			return layers(newTar(t).Dir("etc", 0o755).Symlink("localetc", "/etc").Bytes(),
				newTar(t).File("localetc/unbroken", 0o644, "unbroken").Bytes())
		}, check: fileValue("etc/unbroken", "unbroken")},
		hostileCase{name: "T03/host-absolute", layers: func(t testing.TB, c *testutil.Canary) [][]byte {
			return layers(newTar(t).Symlink("evil", c.Victim).Bytes(),
				newTar(t).File("evil/hello", 0o644, "pwned").Bytes())
		}, wantErr: []error{unix.ENOTDIR}},
		hostileCase{name: "T03/host-relative", layers: func(t testing.TB, c *testutil.Canary) [][]byte {
			return layers(newTar(t).Dir("etc", 0o755).Symlink("etc/evil", "../../../../../../victim").Bytes(),
				newTar(t).Dir("victim", 0o755).File("etc/evil/hello", 0o644, "scoped").Bytes())
		}, check: fileValue("victim/hello", "scoped")},
	)
	for _, name := range []string{".", "/", "./", "", "a/..", ".."} {
		cases = append(cases, hostileCase{name: fmt.Sprintf("T05/symlink%q", name),
			layers: func(t testing.TB, c *testutil.Canary) [][]byte {
				return layers(newTar(t).Symlink(name, c.Victim).Bytes())
			}, wantErr: []error{ErrInvalidEntry}, check: rootStillRoot})
	}
	cases = append(cases,
		hostileCase{name: "T05/hardlink-root", lower: []string{"file f"}, layers: func(t testing.TB, _ *testutil.Canary) [][]byte {
			return layers(newTar(t).Hardlink("./", "f").Bytes())
		}, wantErr: []error{ErrInvalidEntry}, check: rootStillRoot},
		hostileCase{name: "T05/file-root", layers: func(t testing.TB, _ *testutil.Canary) [][]byte {
			return layers(newTar(t).Raw(rawEntry(t, tar.TypeReg, "/", "x")).Bytes())
		}, wantErr: []error{ErrInvalidEntry}, check: rootStillRoot},
		hostileCase{name: "T05/dir-root", layers: func(t testing.TB, _ *testutil.Canary) [][]byte {
			return layers(newTar(t).Dir("./", 0o750).File("hello", 0o644, "in").Bytes())
		}, check: all(rootStillRoot, fileValue("hello", "in"))},
	)
	for _, suffix := range []string{"/", "/.", "//", "/./"} {
		lower := []string{"symlink evil -> $T/victim"}
		cases = append(cases,
			hostileCase{name: "T06/dir" + suffix, lower: lower, layers: func(t testing.TB, _ *testutil.Canary) [][]byte {
				return layers(newTar(t).Dir("evil"+suffix, 0o755).File("evil/f", 0o644, "in").Bytes())
			}, check: all(isKind("evil", unix.S_IFDIR), fileValue("evil/f", "in"))},
			hostileCase{name: "T06/file" + suffix, lower: lower, layers: func(t testing.TB, _ *testutil.Canary) [][]byte {
				return layers(newTar(t).Raw(rawEntry(t, tar.TypeReg, "evil"+suffix, "in")).Bytes())
			}, check: fileValue("evil", "in")},
			hostileCase{name: "T06/symlink" + suffix, lower: lower, layers: func(t testing.TB, _ *testutil.Canary) [][]byte {
				return layers(newTar(t).Symlink("evil"+suffix, "elsewhere").Bytes())
			}, check: isKind("evil", unix.S_IFLNK)},
			hostileCase{name: "T06/hardlink-target" + suffix, lower: lower, layers: func(t testing.TB, _ *testutil.Canary) [][]byte {
				return layers(newTar(t).Hardlink("h", "evil"+suffix).Bytes())
			}, check: sameSymlink("h", "evil")},
			hostileCase{name: "T06/whiteout" + suffix, lower: lower, layers: func(t testing.TB, _ *testutil.Canary) [][]byte {
				return layers(newTar(t).Raw(rawEntry(t, tar.TypeReg, ".wh.evil"+suffix, "")).Bytes())
			}, check: notExists("evil")},
		)
	}
	cases = append(cases,
		hostileCase{name: "T07/long-name", layers: func(t testing.TB, _ *testutil.Canary) [][]byte {
			return layers(newTar(t).File(strings.Repeat(strings.Repeat("n", 255)+"/", 300)+"f", 0o644, "x").Bytes())
		}, wantErr: []error{ErrLimitExceeded}},
		hostileCase{name: "T07/deep-chain", layers: func(t testing.TB, _ *testutil.Canary) [][]byte {
			b := newTar(t)
			p := "a"
			for range 1000 {
				b.Dir(p, 0o755)
				p += "/a"
			}
			return layers(b.File(p, 0o644, "bottom").Bytes(), newTar(t).Whiteout(".wh.a").Bytes())
		}, check: notExists("a")},
		hostileCase{name: "T08/loop", lower: []string{"symlink a -> b", "symlink b -> a"},
			layers: func(t testing.TB, _ *testutil.Canary) [][]byte {
				return layers(newTar(t).File("a/x", 0o644, "x").Bytes())
			}, wantErr: []error{ErrLimitExceeded, unix.ELOOP}},
		hostileCase{name: "T08/chain-39", lower: symlinkChain(39), layers: func(t testing.TB, _ *testutil.Canary) [][]byte {
			return layers(newTar(t).File("l0/x", 0o644, "x").Bytes())
		}, check: fileValue("d/x", "x")},
		hostileCase{name: "T08/chain-41", lower: symlinkChain(41), layers: func(t testing.TB, _ *testutil.Canary) [][]byte {
			return layers(newTar(t).File("l0/x", 0o644, "x").Bytes())
		}, wantErr: []error{ErrLimitExceeded, unix.ELOOP}, check: notExists("d/x")},
	)
	return cases
}

func filepathClean(p string) string { return filepath.Clean("/" + p) }

// rawEntry is one ustar entry (header and data, no end-of-archive blocks)
// named name, which archive/tar's Writer would refuse (a trailing slash on
// a non-directory): it is written under a placeholder and patched.
func rawEntry(t testing.TB, typ byte, name, data string) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := tar.NewWriter(&buf)
	hdr := &tar.Header{Typeflag: typ, Name: strings.Repeat("Z", len(name)), Mode: 0o644, Size: int64(len(data)),
		Uid: os.Geteuid(), Gid: os.Getegid(), ModTime: testutil.TarTime, Format: tar.FormatUSTAR}
	if err := w.WriteHeader(hdr); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write([]byte(data)); err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	b := buf.Bytes()
	testutil.PatchTarHeader(b, 0, 0, []byte(name))
	return b
}

// symlinkChain is a lower tree where l0 -> l1 -> ... -> l(n-1) -> d, so that
// resolving l0 follows n symlinks.
func symlinkChain(n int) []string {
	spec := []string{"dir d"}
	for i := range n {
		target := fmt.Sprintf("l%d", i+1)
		if i == n-1 {
			target = "d"
		}
		spec = append(spec, fmt.Sprintf("symlink l%d -> %s", i, target))
	}
	return spec
}

// rootStillRoot asserts the root is still a directory we can resolve into.
func rootStillRoot(t *testing.T, r *pathrs.Root) {
	t.Helper()
	st, err := inRootStat(t, r, ".", false)
	if err != nil || st.Mode&unix.S_IFMT != unix.S_IFDIR {
		t.Errorf("root: mode %o, err %v; want a directory", st.Mode, err)
	}
	if _, err := os.Lstat(filepath.Join(r.Name(), "hello")); err == nil {
		return // T05/dir-root wrote it inside
	}
}

// TestThreatsLinksAndWhiteouts covers T10-T18.
func TestThreatsLinksAndWhiteouts(t *testing.T) { runHostile(t, threatLinkCases()) }

func threatLinkCases() []hostileCase {
	return []hostileCase{
		{name: "T10/link-to-dir", layers: func(t testing.TB, _ *testutil.Canary) [][]byte {
			return layers(newTar(t).Dir("etc", 0o755).Hardlink("l", "etc").Bytes())
		}, wantErr: []error{unix.EPERM}},
		{name: "T11/link-to-host-symlink", layers: func(t testing.TB, c *testutil.Canary) [][]byte {
			return layers(newTar(t).Symlink("passwdlink", c.Hello).Hardlink("localpasswd", "passwdlink").Bytes())
		}, check: sameSymlink("localpasswd", "passwdlink")},
		{name: "T12/forward-reference", layers: func(t testing.TB, _ *testutil.Canary) [][]byte {
			return layers(newTar(t).Hardlink("a", "b").File("b", 0o644, "late").Bytes())
		}, wantErr: []error{unix.ENOENT}, check: notExists("a")},
		{name: "T14/replace-not-truncate", lower: []string{"file a 0644 old", "hardlink b -> a"},
			layers: func(t testing.TB, _ *testutil.Canary) [][]byte {
				return layers(newTar(t).File("a", 0o644, "new").Bytes())
			}, check: all(fileValue("a", "new"), fileValue("b", "old"), notSameFile("a", "b"))},
		{name: "T15/bare-nested", lower: []string{"dir etc", "file etc/passwd 0644 inside"},
			layers: func(t testing.TB, _ *testutil.Canary) [][]byte {
				return layers(newTar(t).Whiteout("etc/.wh.").Bytes())
			}, wantErr: []error{ErrInvalidWhiteout}, check: fileValue("etc/passwd", "inside")},
		{name: "T15/bare-root", lower: []string{"dir etc", "file etc/passwd 0644 inside"},
			layers:  func(t testing.TB, _ *testutil.Canary) [][]byte { return layers(newTar(t).Whiteout(".wh.").Bytes()) },
			wantErr: []error{ErrInvalidWhiteout}, check: fileValue("etc/passwd", "inside")},
		{name: "T16/host-parent", lower: []string{"symlink localetc -> $T/victim"},
			layers: func(t testing.TB, _ *testutil.Canary) [][]byte {
				return layers(newTar(t).Whiteout("localetc/.wh.hello").Bytes())
			}, check: isKind("localetc", unix.S_IFLNK)},
		{name: "T17/opaque-after", layers: func(t testing.TB, c *testutil.Canary) [][]byte {
			return layers(newTar(t).File("a/b", 0o644, "b").File("a/c", 0o644, "c").Symlink("a/l", c.Victim).Bytes(),
				newTar(t).File("a/new", 0o644, "n").Whiteout("a/.wh..wh..opq").File("a/new2", 0o644, "n2").Bytes())
		}, check: all(fileValue("a/new", "n"), fileValue("a/new2", "n2"), notExists("a/b"), notExists("a/l"))},
		{name: "T17/opaque-first", layers: func(t testing.TB, c *testutil.Canary) [][]byte {
			return layers(newTar(t).File("a/b", 0o644, "b").Symlink("a/l", c.Victim).Bytes(),
				newTar(t).Whiteout("a/.wh..wh..opq").File("a/new", 0o644, "n").Bytes())
		}, check: all(fileValue("a/new", "n"), notExists("a/b"), notExists("a/l"))},
		{name: "T17/opaque-host-symlink", lower: []string{"symlink a -> $T/victim"},
			layers: func(t testing.TB, _ *testutil.Canary) [][]byte {
				return layers(newTar(t).Whiteout("a/.wh..wh..opq").Bytes())
			}, check: isKind("a", unix.S_IFLNK)},
		{name: "T18/corrupt-after-link", layers: func(t testing.TB, c *testutil.Canary) [][]byte {
			garbage := make([]byte, 512)
			for i := range garbage {
				garbage[i] = 'x'
			}
			b := newTar(t).Symlink("x", c.Victim).File("ok", 0o644, "ok").Raw(garbage)
			return layers(b.Bytes())
		}, wantErr: []error{ErrInvalidArchive}, check: fileValue("ok", "ok")},
	}
}

// TestThreatsTypesAndMetadata covers T19-T28.
func TestThreatsTypesAndMetadata(t *testing.T) { runHostile(t, threatTypeCases()) }

func threatTypeCases() []hostileCase {
	uid, gid := os.Geteuid(), os.Getegid()
	old := time.Date(1970, 1, 2, 0, 0, 0, 0, time.UTC)
	return []hostileCase{
		{name: "T19/dir-to-file", lower: []string{"dir d", "symlink d/l -> $T/victim", "dir d/sub", "file d/sub/f"},
			layers: func(t testing.TB, _ *testutil.Canary) [][]byte {
				return layers(newTar(t).File("d", 0o644, "file").Bytes())
			},
			check: fileValue("d", "file")},
		{name: "T19/file-to-dir-deep", lower: []string{"dir a", "dir a/b", "file a/b/c 0644 old"},
			layers: func(t testing.TB, _ *testutil.Canary) [][]byte {
				return layers(newTar(t).Dir("a/b/c", 0o755).File("a/b/c/x", 0o644, "x").Bytes())
			}, check: all(isKind("a/b/c", unix.S_IFDIR), fileValue("a/b/c/x", "x"))},
		{name: "T20/symlink-then-file", layers: func(t testing.TB, c *testutil.Canary) [][]byte {
			return layers(newTar(t).Symlink("x", c.Hello).File("x", 0o644, "in").Bytes())
		}, check: fileValue("x", "in")},
		{name: "T20/file-link-file", layers: func(t testing.TB, _ *testutil.Canary) [][]byte {
			return layers(newTar(t).File("a", 0o644, "one").Hardlink("b", "a").File("a", 0o644, "two").Bytes())
		}, check: all(fileValue("a", "two"), fileValue("b", "one"))},
		{name: "T21/fifo-then-file", lower: []string{"fifo x"}, layers: func(t testing.TB, _ *testutil.Canary) [][]byte {
			return layers(newTar(t).File("x", 0o644, "in").Fifo("p", 0o600).Fifo("p", 0o644).Bytes())
		}, check: all(fileValue("x", "in"), isKind("p", unix.S_IFIFO))},
		{name: "T21/device-then-file", needs: testutil.RequireMknod, lower: []string{"char x 1 3"},
			layers: func(t testing.TB, _ *testutil.Canary) [][]byte {
				return layers(newTar(t).File("x", 0o644, "in").Bytes())
			},
			check: fileValue("x", "in")},
		{name: "T22/devices-root", needs: testutil.RequireMknod, layers: func(t testing.TB, _ *testutil.Canary) [][]byte {
			return layers(newTar(t).Char("null", 0o666, 1, 3).Block("disk", 0o666, 8, 0).Bytes())
		}, check: all(isKind("null", unix.S_IFCHR), isKind("disk", unix.S_IFBLK))},
		{name: "T22/devices-unprivileged", needs: testutil.RequireNotRoot, layers: func(t testing.TB, _ *testutil.Canary) [][]byte {
			return layers(newTar(t).Char("null", 0o666, 1, 3).Bytes())
		}, wantErr: []error{unix.EPERM}},
		{name: "T24/numeric-ids-win", layers: func(t testing.TB, _ *testutil.Canary) [][]byte {
			return layers(newTar(t).Header(&tar.Header{Typeflag: tar.TypeReg, Name: "f", Mode: 0o644,
				Uid: uid, Gid: gid, Uname: "root", Gname: "root"}, nil).Bytes())
		}, check: owner("f", uid, gid)},
		{name: "T25/chmod-symlink", layers: func(t testing.TB, c *testutil.Canary) [][]byte {
			return layers(newTar(t).Header(&tar.Header{Typeflag: tar.TypeSymlink, Name: "l", Linkname: c.Hello,
				Mode: 0o777, Uid: uid, Gid: gid}, nil).Hardlink("l2", "l").Bytes())
		}, check: isKind("l2", unix.S_IFLNK)},
		{name: "T26/chown-symlink", needs: testutil.RequireRoot, layers: func(t testing.TB, c *testutil.Canary) [][]byte {
			return layers(newTar(t).Header(&tar.Header{Typeflag: tar.TypeSymlink, Name: "l", Linkname: c.Hello,
				Uid: 4242, Gid: 4242}, nil).Bytes())
		}, check: owner("l", 4242, 4242)},
		{name: "T27/utimes-symlink", layers: func(t testing.TB, c *testutil.Canary) [][]byte {
			return layers(newTar(t).Header(&tar.Header{Typeflag: tar.TypeSymlink, Name: "l", Linkname: c.Hello,
				Uid: uid, Gid: gid, ModTime: old}, nil).Hardlink("l2", "l").Bytes())
		}, check: mtimeIs("l", old)},
		{name: "T28/xattr-symlink", layers: func(t testing.TB, c *testutil.Canary) [][]byte {
			return layers(newTar(t).Header(&tar.Header{Typeflag: tar.TypeSymlink, Name: "l", Linkname: c.Hello,
				Uid: uid, Gid: gid, PAXRecords: map[string]string{"SCHILY.xattr.user.x": "1"}}, nil).Bytes())
		}, check: isKind("l", unix.S_IFLNK)},
		{name: "T28/overlay-redirect", layers: func(t testing.TB, _ *testutil.Canary) [][]byte {
			return layers(newTar(t).Header(&tar.Header{Typeflag: tar.TypeReg, Name: "f", Mode: 0o644, Uid: uid, Gid: gid,
				PAXRecords: map[string]string{"SCHILY.xattr.trusted.overlay.redirect": "/../../victim",
					"SCHILY.xattr.user.overlay.opaque": "y"}}, nil).Bytes())
		}, check: noXattrs("f")},
	}
}

func owner(p string, uid, gid int) func(t *testing.T, r *pathrs.Root) {
	return func(t *testing.T, r *pathrs.Root) {
		t.Helper()
		st, err := inRootStat(t, r, p, false)
		if err != nil {
			t.Fatalf("lstat %s: %v", p, err)
		}
		if int(st.Uid) != uid || int(st.Gid) != gid {
			t.Errorf("%s: owner %d:%d, want %d:%d", p, st.Uid, st.Gid, uid, gid)
		}
	}
}

func mtimeIs(p string, want time.Time) func(t *testing.T, r *pathrs.Root) {
	return func(t *testing.T, r *pathrs.Root) {
		t.Helper()
		st, err := inRootStat(t, r, p, false)
		if err != nil {
			t.Fatalf("lstat %s: %v", p, err)
		}
		if got := time.Unix(st.Mtim.Unix()); !got.Equal(want) {
			t.Errorf("%s: mtime %v, want %v", p, got.UTC(), want)
		}
	}
}

func noXattrs(p string) func(t *testing.T, r *pathrs.Root) {
	return func(t *testing.T, r *pathrs.Root) {
		t.Helper()
		names, err := r.Llistxattr(p)
		if err != nil {
			t.Fatalf("listxattr %s: %v", p, err)
		}
		for _, n := range names {
			if strings.Contains(n, "overlay") {
				t.Errorf("%s: xattr %s present, want it dropped", p, n)
			}
		}
	}
}
