package layer

import (
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/safeunpack/safeunpack/internal/testutil"
)

// TestBreakoutsContainerd covers every case of containerd's TestBreakouts
// (containerd/containerd: pkg/archive/tar_test.go), with our expectations.
// They differ from containerd's where our semantics are stricter:
//   - a symlink entry for the root (SymlinkParentDirectory,
//     SymlinkEmptyFilename) is refused (CVE-2021-29136), where containerd
//     skips root entries;
//   - HardlinkRelativeUpAndOut: in-root resolution walks "upandout/.."
//     like the kernel, and "upandout" does not exist, so the link target
//     is ENOENT (containerd resolves lexically);
//   - WhiteoutDirectoryName: ".wh.etc/somefile" uses a reserved whiteout
//     name as a directory and is refused (containerd creates it).
func TestBreakoutsContainerd(t *testing.T) { runHostile(t, containerdCases()) }

func containerdCases() []hostileCase {
	unbroken := fileValue("etc/unbroken", "unbroken")
	return []hostileCase{
		{name: "SymlinkAbsolute", layers: func(t testing.TB, _ *testutil.Canary) [][]byte {
			return layers(newTar(t).Dir("etc", 0o755).Symlink("localetc", "/etc").
				File("/localetc/unbroken", 0o644, "unbroken").Bytes())
		}, check: unbroken},
		{name: "SymlinkUpAndOut", layers: func(t testing.TB, _ *testutil.Canary) [][]byte {
			return layers(newTar(t).Dir("etc", 0o755).Dir("dummy", 0o755).Symlink("localetc", "/dummy/../etc").
				File("/localetc/unbroken", 0o644, "unbroken").Bytes())
		}, check: unbroken},
		{name: "SymlinkMultipleAbsolute", layers: func(t testing.TB, _ *testutil.Canary) [][]byte {
			return layers(newTar(t).Dir("etc", 0o755).Dir("dummy", 0o755).Symlink("/dummy/etc", "/etc").
				Symlink("localetc", "/dummy/etc").File("/dummy/etc/unbroken", 0o644, "unbroken").Bytes())
		}, check: unbroken},
		{name: "SymlinkMultipleRelative", layers: func(t testing.TB, _ *testutil.Canary) [][]byte {
			return layers(newTar(t).Dir("etc", 0o755).Dir("dummy", 0o755).Symlink("/dummy/etc", "/etc").
				Symlink("localetc", "./dummy/etc").File("/dummy/etc/unbroken", 0o644, "unbroken").Bytes())
		}, check: unbroken},
		{name: "SymlinkEmptyFile", layers: func(t testing.TB, _ *testutil.Canary) [][]byte {
			return layers(newTar(t).Dir("etc", 0o755).File("etc/emptied", 0o644, "notempty").
				Symlink("localetc", "/etc").File("/localetc/emptied", 0o644, "").Bytes())
		}, check: fileValue("etc/emptied", "")},
		{name: "HardlinkRelative", layers: func(t testing.TB, _ *testutil.Canary) [][]byte {
			return layers(newTar(t).Dir("etc", 0o770).File("/etc/passwd", 0o644, "inside").Dir("breakouts", 0o755).
				Symlink("breakouts/d1", "../../etc").Hardlink("breakouts/mypasswd", "/breakouts/d1/passwd").Bytes())
		}, check: sameFile("breakouts/mypasswd", "etc/passwd")},
		{name: "HardlinkDownAndOut", layers: func(t testing.TB, _ *testutil.Canary) [][]byte {
			return layers(newTar(t).Dir("etc", 0o770).File("/etc/passwd", 0o644, "inside").Dir("breakouts", 0o755).
				Dir("downandout", 0o755).Symlink("breakouts/d1", "../downandout/../../etc").
				Hardlink("breakouts/mypasswd", "/breakouts/d1/passwd").Bytes())
		}, check: sameFile("breakouts/mypasswd", "etc/passwd")},
		{name: "HardlinkAbsolute", layers: func(t testing.TB, _ *testutil.Canary) [][]byte {
			return layers(newTar(t).Dir("etc", 0o770).File("/etc/passwd", 0o644, "inside").
				Symlink("localetc", "/etc").Hardlink("localpasswd", "/localetc/passwd").Bytes())
		}, check: sameFile("localpasswd", "etc/passwd")},
		{name: "HardlinkRelativeLong", layers: func(t testing.TB, _ *testutil.Canary) [][]byte {
			return layers(newTar(t).Dir("etc", 0o770).File("/etc/passwd", 0o644, "inside").
				Symlink("localetc", "../../../../../../../etc").Hardlink("localpasswd", "/localetc/passwd").Bytes())
		}, check: sameFile("localpasswd", "etc/passwd")},
		{name: "HardlinkRelativeUpAndOut", layers: func(t testing.TB, _ *testutil.Canary) [][]byte {
			return layers(newTar(t).Dir("etc", 0o770).File("/etc/passwd", 0o644, "inside").
				Symlink("localetc", "upandout/../../../etc").Hardlink("localpasswd", "/localetc/passwd").Bytes())
		}, wantErr: []error{unix.ENOENT}, check: notExists("localpasswd")},
		{name: "HardlinkDirectRelative", layers: func(t testing.TB, _ *testutil.Canary) [][]byte {
			return layers(newTar(t).Dir("etc", 0o770).File("/etc/passwd", 0o644, "inside").
				Hardlink("localpasswd", "../../../../../etc/passwd").Bytes())
		}, check: sameFile("localpasswd", "etc/passwd")},
		{name: "HardlinkDirectAbsolute", layers: func(t testing.TB, _ *testutil.Canary) [][]byte {
			return layers(newTar(t).Dir("etc", 0o770).File("/etc/passwd", 0o644, "inside").
				Hardlink("localpasswd", "/etc/passwd").Bytes())
		}, check: sameFile("localpasswd", "etc/passwd")},
		{name: "SymlinkParentDirectory", layers: func(t testing.TB, _ *testutil.Canary) [][]byte {
			return layers(newTar(t).Dir("etc", 0o770).File("/etc/passwd", 0o644, "inside").
				Symlink("..", "/etc/").Hardlink("localpasswd", "/etc/passwd").Bytes())
		}, wantErr: []error{ErrInvalidEntry}, check: isKind("etc", unix.S_IFDIR)},
		{name: "SymlinkEmptyFilename", layers: func(t testing.TB, _ *testutil.Canary) [][]byte {
			return layers(newTar(t).Dir("etc", 0o770).File("/etc/passwd", 0o644, "inside").
				Symlink("", "/etc/").Hardlink("localpasswd", "/etc/passwd").Bytes())
		}, wantErr: []error{ErrInvalidEntry}, check: isKind("etc", unix.S_IFDIR)},
		{name: "SymlinkParentRelative", layers: func(t testing.TB, _ *testutil.Canary) [][]byte {
			return layers(newTar(t).Dir("etc", 0o770).File("/etc/passwd", 0o644, "inside").
				Symlink("localetc/sub/..", "/etc/").Hardlink("/localetc/localpasswd", "/etc/passwd").Bytes())
		}, check: sameFile("localetc/localpasswd", "etc/passwd")},
		{name: "SymlinkSlashEnded", layers: func(t testing.TB, _ *testutil.Canary) [][]byte {
			return layers(newTar(t).Dir("etc", 0o770).File("/etc/passwd", 0o644, "inside").Dir("localetc/", 0o770).
				Hardlink("/localetc/localpasswd", "/etc/passwd").Bytes())
		}, check: sameFile("localetc/localpasswd", "etc/passwd")},
		{name: "SymlinkOverrideDirectory",
			lower: []string{"dir etc", "file etc/passwd 0644 inside", "dir localetc"},
			layers: func(t testing.TB, _ *testutil.Canary) [][]byte {
				return layers(newTar(t).Symlink("localetc", "/etc").Hardlink("/localetc/localpasswd", "/etc/passwd").Bytes())
			}, check: sameFile("localetc/localpasswd", "etc/passwd")},
		{name: "SymlinkOverrideDirectoryRelative",
			lower: []string{"dir etc", "file etc/passwd 0644 inside", "dir localetc"},
			layers: func(t testing.TB, _ *testutil.Canary) [][]byte {
				return layers(newTar(t).Symlink("localetc", "../../etc").Hardlink("/localetc/localpasswd", "/etc/passwd").Bytes())
			}, check: sameFile("localetc/localpasswd", "etc/passwd")},
		{name: "DirectoryOverrideSymlink",
			lower: []string{"dir etc", "file etc/passwd 0644 inside", "symlink localetc -> /etc"},
			layers: func(t testing.TB, _ *testutil.Canary) [][]byte {
				return layers(newTar(t).Dir("/localetc/", 0o755).Hardlink("/localetc/localpasswd", "/etc/passwd").Bytes())
			}, check: all(sameFile("localetc/localpasswd", "etc/passwd"), isKind("localetc", unix.S_IFDIR))},
		{name: "DirectoryOverrideSymlinkAndHardlink",
			lower: []string{"dir etc", "file etc/passwd 0644 inside", "symlink localetc -> etc", "hardlink etc/localpasswd -> etc/passwd"},
			layers: func(t testing.TB, _ *testutil.Canary) [][]byte {
				return layers(newTar(t).Dir("/localetc/", 0o755).File("/localetc/localpasswd", 0o644, "different").Bytes())
			}, check: all(notSameFile("localetc/localpasswd", "etc/passwd"), fileValue("etc/passwd", "inside"),
				fileValue("localetc/localpasswd", "different"))},
		{name: "WhiteoutRootParent", lower: []string{"dir etc", "file etc/passwd 0644 inside"},
			layers:  func(t testing.TB, _ *testutil.Canary) [][]byte { return layers(newTar(t).Whiteout(".wh...").Bytes()) },
			wantErr: []error{ErrInvalidWhiteout}, check: fileValue("etc/passwd", "inside")},
		{name: "WhiteoutParent", lower: []string{"dir etc", "file etc/passwd 0644 inside"},
			layers: func(t testing.TB, _ *testutil.Canary) [][]byte {
				return layers(newTar(t).Whiteout("etc/.wh...").Bytes())
			},
			wantErr: []error{ErrInvalidWhiteout}, check: fileValue("etc/passwd", "inside")},
		{name: "WhiteoutRoot", lower: []string{"dir etc", "file etc/passwd 0644 inside"},
			layers:  func(t testing.TB, _ *testutil.Canary) [][]byte { return layers(newTar(t).Whiteout(".wh..").Bytes()) },
			wantErr: []error{ErrInvalidWhiteout}, check: fileValue("etc/passwd", "inside")},
		{name: "WhiteoutCurrentDirectory", lower: []string{"dir etc", "file etc/passwd 0644 inside"},
			layers: func(t testing.TB, _ *testutil.Canary) [][]byte {
				return layers(newTar(t).Whiteout("etc/.wh..").Bytes())
			},
			wantErr: []error{ErrInvalidWhiteout}, check: fileValue("etc/passwd", "inside")},
		{name: "WhiteoutSymlink", lower: []string{"dir etc", "file etc/passwd 0644 all-users", "symlink localetc -> /etc"},
			layers: func(t testing.TB, _ *testutil.Canary) [][]byte {
				return layers(newTar(t).Whiteout(".wh.localetc").Bytes())
			},
			check: all(fileValue("etc/passwd", "all-users"), notExists("localetc"))},
		{name: "WhiteoutSymlinkPath",
			lower: []string{"dir etc", "file etc/passwd 0644 all-users", "file etc/whitedout 0644 x", "symlink localetc -> /etc"},
			layers: func(t testing.TB, _ *testutil.Canary) [][]byte {
				return layers(newTar(t).Whiteout("localetc/.wh.whitedout").Bytes())
			},
			check: all(fileValue("etc/passwd", "all-users"), notExists("etc/whitedout"))},
		{name: "WhiteoutDirectoryName",
			lower: []string{"dir etc", "file etc/passwd 0644 all-users", "symlink localetc -> /etc"},
			layers: func(t testing.TB, _ *testutil.Canary) [][]byte {
				return layers(newTar(t).File(".wh.etc/somefile", 0o644, "non-empty").Bytes())
			},
			wantErr: []error{ErrInvalidWhiteout}, check: all(fileValue("etc/passwd", "all-users"), notExists(".wh.etc"))},
		{name: "WhiteoutDeadSymlinkParent",
			lower: []string{"dir etc", "file etc/passwd 0644 all-users", "symlink localetc -> /dne"},
			layers: func(t testing.TB, _ *testutil.Canary) [][]byte {
				return layers(newTar(t).Whiteout("localetc/.wh.etc").Bytes())
			},
			check: fileValue("etc/passwd", "all-users")},
		{name: "WhiteoutRelativePath",
			lower: []string{"dir etc", "file etc/passwd 0644 all-users", "symlink localetc -> /dne"},
			layers: func(t testing.TB, _ *testutil.Canary) [][]byte {
				return layers(newTar(t).Whiteout("dne/../.wh.etc").Bytes())
			},
			check: notExists("etc")},
		{name: "HardlinkSymlinkBeforeCreateTarget", layers: func(t testing.TB, _ *testutil.Canary) [][]byte {
			return layers(newTar(t).Dir("etc", 0o770).Symlink("localpasswd", "/etc/passwd").
				Hardlink("localpasswd-dup", "localpasswd").File("/etc/passwd", 0o644, "after").Bytes())
		}, check: all(sameFile("localpasswd-dup", "etc/passwd"), sameSymlink("localpasswd-dup", "localpasswd"))},
		{name: "HardlinkSymlinkRelative", layers: func(t testing.TB, _ *testutil.Canary) [][]byte {
			return layers(newTar(t).Dir("etc", 0o770).File("/etc/passwd", 0o644, "inside").
				Symlink("passwdlink", "../../../../../etc/passwd").Hardlink("localpasswd", "/passwdlink").Bytes())
		}, check: all(sameSymlink("localpasswd", "passwdlink"), sameFile("localpasswd", "etc/passwd"))},
		{name: "HardlinkSymlinkAbsolute", layers: func(t testing.TB, _ *testutil.Canary) [][]byte {
			return layers(newTar(t).Dir("etc", 0o770).File("/etc/passwd", 0o644, "inside").
				Symlink("passwdlink", "/etc/passwd").Hardlink("localpasswd", "/passwdlink").Bytes())
		}, check: all(sameSymlink("localpasswd", "passwdlink"), sameFile("localpasswd", "etc/passwd"))},
		{name: "HardlinkSymlinkChmod", layers: func(t testing.TB, c *testutil.Canary) [][]byte {
			// Two host files outside the root; the layer names a symlink
			// after the absolute host path of one, pointing at the other,
			// then hard-links to that name (CVE-2021-32760). The canary
			// snapshot taken after this builder covers both files.
			p := filepath.Join(c.Base, "perm400")
			ep := filepath.Join(c.Base, "also-exists-outside-root")
			testutil.MakeTree(t, c.Base, "file perm400 0400 ...", "file also-exists-outside-root 0640 ...")
			return layers(newTar(t).Symlink(ep, p).Hardlink("sketchylink", ep).Bytes())
		}, check: isKind("sketchylink", unix.S_IFLNK)},
	}
}
