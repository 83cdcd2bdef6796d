package layer

import (
	"archive/tar"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/safeunpack/safeunpack/internal/testutil"
)

// TestBreakoutsMoby covers moby go-archive's breakout tests
// (moby/go-archive: archive_test.go TestUntarInvalidFilenames,
// TestUntarInvalidHardlink, TestUntarInvalidSymlink,
// TestUntarHardlinkToSymlink, TestUntarSymlinkBreakout,
// TestUntarSiblingPrefixContained, TestUntarAbsoluteHardlink,
// TestXGlobalNoParent). moby only asserts that the victim is unchanged; we
// also pin the outcome. Links to "../victim" resolve in the root, where no
// victim exists: ENOENT. Files under a symlink whose in-root target does
// not exist fail with ENOTDIR: parents are never created through a dangling
// symlink.
func TestBreakoutsMoby(t *testing.T) { runHostile(t, mobyCases()) }

func mobyCases() []hostileCase {
	hdr := func(typ byte, name, link string) *tar.Header {
		return &tar.Header{Typeflag: typ, Name: name, Linkname: link, Mode: 0o644}
	}
	tarOf := func(t testing.TB, hs ...*tar.Header) []byte {
		b := newTar(t)
		for _, h := range hs {
			h.Uid, h.Gid = b.UID, b.GID
			b.Header(h, nil)
		}
		return b.Bytes()
	}
	one := func(hs ...*tar.Header) func(t testing.TB, _ *testutil.Canary) [][]byte {
		return func(t testing.TB, _ *testutil.Canary) [][]byte { return layers(tarOf(t, hs...)) }
	}
	reg, link, sym := byte(tar.TypeReg), byte(tar.TypeLink), byte(tar.TypeSymlink)
	return []hostileCase{
		{name: "InvalidFilenames/dotdot", layers: one(hdr(reg, "../victim/dotdot", "")),
			check: isKind("victim/dotdot", unix.S_IFREG)},
		{name: "InvalidFilenames/slash-dotdot", layers: one(hdr(reg, "/../victim/slash-dotdot", "")),
			check: isKind("victim/slash-dotdot", unix.S_IFREG)},
		{name: "InvalidHardlink/dotdot", layers: one(hdr(link, "dotdot", "../victim/hello")),
			wantErr: []error{unix.ENOENT}},
		{name: "InvalidHardlink/slash-dotdot", layers: one(hdr(link, "slash-dotdot", "/../victim/hello")),
			wantErr: []error{unix.ENOENT}},
		{name: "InvalidHardlink/write-victim-file", layers: one(hdr(link, "loophole-victim", "../victim"),
			hdr(reg, "loophole-victim/file", "")), wantErr: []error{unix.ENOENT}},
		{name: "InvalidHardlink/hardlink-symlink", layers: one(hdr(link, "loophole-victim", "../victim"),
			hdr(sym, "symlink", "loophole-victim/hello")), wantErr: []error{unix.ENOENT}},
		{name: "InvalidHardlink/hardlink-hardlink", layers: one(hdr(link, "loophole-victim", "../victim"),
			hdr(link, "hardlink", "loophole-victim/hello")), wantErr: []error{unix.ENOENT}},
		{name: "InvalidHardlink/remove-victim-dir", layers: one(hdr(link, "loophole-victim", "../victim"),
			hdr(reg, "loophole-victim", "")), wantErr: []error{unix.ENOENT}},
		{name: "InvalidSymlink/dotdot", layers: one(hdr(sym, "dotdot", "../victim/hello")),
			check: isKind("dotdot", unix.S_IFLNK)},
		{name: "InvalidSymlink/slash-dotdot", layers: one(hdr(sym, "slash-dotdot", "/../victim/hello")),
			check: isKind("slash-dotdot", unix.S_IFLNK)},
		{name: "InvalidSymlink/write-victim-file", layers: one(hdr(sym, "loophole-victim", "../victim"),
			hdr(reg, "loophole-victim/file", "")), wantErr: []error{unix.ENOTDIR}},
		{name: "InvalidSymlink/symlink-symlink", layers: one(hdr(sym, "loophole-victim", "../victim"),
			hdr(sym, "symlink", "loophole-victim/hello")), check: isKind("symlink", unix.S_IFLNK)},
		{name: "InvalidSymlink/symlink-hardlink", layers: one(hdr(sym, "loophole-victim", "../victim"),
			hdr(link, "hardlink", "loophole-victim/hello")), wantErr: []error{unix.ENOENT}},
		{name: "InvalidSymlink/remove-victim-dir", layers: one(hdr(sym, "loophole-victim", "../victim"),
			hdr(reg, "loophole-victim", "")), check: isKind("loophole-victim", unix.S_IFREG)},
		{name: "InvalidSymlink/symlink-in-path", layers: one(hdr(sym, "dir/loophole", "../../victim"),
			hdr(reg, "dir/loophole/newdir/newfile", "")), wantErr: []error{unix.ENOTDIR}},
		{name: "HardlinkToSymlink", layers: one(hdr(sym, "symlink1", "regfile"), hdr(link, "symlink2", "symlink1"),
			hdr(reg, "regfile", "")), check: all(sameSymlink("symlink1", "symlink2"), sameFile("symlink2", "regfile"))},
		{name: "SymlinkBreakout", layers: one(hdr(sym, "inner/go_up", ".."), hdr(sym, "inner/go_up/escape", "../victim"),
			hdr(reg, "inner/go_up/escape/newfile", "")), wantErr: []error{unix.ENOTDIR}, check: isKind("escape", unix.S_IFLNK)},
		{name: "SiblingPrefixContained", layers: one(hdr(link, "grab", "../dest-evil/secret")),
			wantErr: []error{unix.ENOENT}, check: notExists("grab")},
		{name: "AbsoluteHardlink", layers: one(hdr(reg, "etc/passwd", ""), hdr(link, "link", "/etc/passwd")),
			check: sameFile("link", "etc/passwd")},
		{name: "XGlobalNoParent", layers: func(t testing.TB, _ *testutil.Canary) [][]byte {
			b := newTar(t).Header(&tar.Header{Typeflag: tar.TypeXGlobalHeader,
				PAXRecords: map[string]string{"comment": "global"}}, nil).Bytes()
			name := make([]byte, 100)
			copy(name, "foo/bar")
			testutil.PatchTarHeader(b, 0, 0, name)
			return layers(b)
		}, check: notExists("foo")},
	}
}

// TestScopingUmoci covers umoci's scoping tests (opencontainers/umoci:
// oci/layer/tar_extract_test.go TestUnpackEntrySanitiseScoping,
// TestUnpackEntrySymlinkScoping, TestUnpackEntryParentDir): names and
// symlink targets with escaping prefixes land inside the root.
func TestScopingUmoci(t *testing.T) { runHostile(t, umociCases()) }

func umociCases() []hostileCase {
	var cases []hostileCase
	for _, prefix := range []string{"/..", "..", "/../../..", "/./.././.."} {
		cases = append(cases,
			hostileCase{name: "Sanitise/file" + prefix, layers: func(t testing.TB, _ *testutil.Canary) [][]byte {
				return layers(newTar(t).File(prefix+"/etc/passwd", 0o644, "scoped").Bytes())
			}, check: fileValue("etc/passwd", "scoped")},
			hostileCase{name: "Sanitise/dir" + prefix, layers: func(t testing.TB, _ *testutil.Canary) [][]byte {
				return layers(newTar(t).Dir(prefix+"/victim/", 0o700).Bytes())
			}, check: isKind("victim", unix.S_IFDIR)},
		)
	}
	for _, prefix := range []string{"/", "/../", "/../../..", "/./.././..", ".."} {
		cases = append(cases, hostileCase{name: "Symlink/" + prefix,
			layers: func(t testing.TB, _ *testutil.Canary) [][]byte {
				return layers(newTar(t).Dir("etc", 0o755).Symlink("link", prefix).
					File("link/etc/hostname", 0o644, "scoped").Bytes())
			}, check: fileValue("etc/hostname", "scoped")})
	}
	cases = append(cases, hostileCase{name: "ParentDir", layers: func(t testing.TB, _ *testutil.Canary) [][]byte {
		return layers(newTar(t).File("a/b/c/d", 0o600, "deep").Bytes())
	}, check: all(fileValue("a/b/c/d", "deep"), isKind("a/b/c", unix.S_IFDIR))})
	return cases
}
