package layer

import (
	"archive/tar"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/safeunpack/safeunpack/internal/testutil"
	"github.com/safeunpack/safeunpack/pathrs"
)

// orderingCase is one row of the entry-ordering rules (prior-art.md 5.3):
// a lower tree, one layer built from entries, and the exact tree after.
type orderingCase struct {
	name string
	// lower is the tree before the layer (testutil.MakeTree spec).
	lower []string
	// layer builds the layer under test.
	layer func(b *testutil.TarBuilder) *testutil.TarBuilder
	// want is the whole tree afterwards (testutil.ListTree lines).
	want []string
}

func TestOrderingRules(t *testing.T) {
	cases := []orderingCase{
		// Rows 14-16: whiteouts act on lower layers only.
		{name: "whiteout-lower-only", lower: []string{"file y", "file z"},
			layer: func(b *testutil.TarBuilder) *testutil.TarBuilder { return b.Whiteout(".wh.y") },
			want:  []string{"file z 0644"}},
		{name: "whiteout-missing-is-noop", lower: []string{"file z"},
			layer: func(b *testutil.TarBuilder) *testutil.TarBuilder {
				return b.Whiteout(".wh.nothing").Whiteout("no/dir/.wh.x")
			},
			want: []string{"file z 0644"}},
		{name: "whiteout-before-same-layer", lower: []string{"dir a", "file a/old"},
			layer: func(b *testutil.TarBuilder) *testutil.TarBuilder {
				return b.Whiteout(".wh.a").Dir("a", 0o755).File("a/new", 0o644, "n")
			},
			want: []string{"dir a 0755", "file a/new 0644 n"}},
		{name: "whiteout-after-same-layer-file", lower: []string{"file x 0644 old"},
			layer: func(b *testutil.TarBuilder) *testutil.TarBuilder { return b.File("x", 0o600, "new").Whiteout(".wh.x") },
			want:  []string{"file x 0600 new"}},
		{name: "whiteout-after-dir-over-lower-dir", lower: []string{"dir a", "file a/old", "dir a/sub", "file a/sub/deep"},
			layer: func(b *testutil.TarBuilder) *testutil.TarBuilder {
				return b.Dir("a", 0o750).File("a/new", 0o644, "n").Whiteout(".wh.a")
			},
			want: []string{"dir a 0750", "file a/new 0644 n"}},
		{name: "whiteout-after-new-dir", lower: []string{"file z"},
			layer: func(b *testutil.TarBuilder) *testutil.TarBuilder {
				return b.Dir("b", 0o755).File("b/f", 0o644, "f").Whiteout(".wh.b")
			},
			want: []string{"dir b 0755", "file b/f 0644 f", "file z 0644"}},
		{name: "whiteout-inside-new-dir", layer: func(b *testutil.TarBuilder) *testutil.TarBuilder {
			return b.Dir("n", 0o755).Whiteout("n/.wh.x").File("n/x", 0o644, "x")
		}, want: []string{"dir n 0755", "file n/x 0644 x"}},
		{name: "whiteout-after-implied-content", lower: []string{"dir p", "file p/old"},
			layer: func(b *testutil.TarBuilder) *testutil.TarBuilder {
				return b.File("p/q/new", 0o644, "n").Whiteout(".wh.p")
			},
			want: []string{"dir p 0755", "dir p/q 0755", "file p/q/new 0644 n"}},
		{name: "whiteout-symlink-not-target", lower: []string{"dir etc", "file etc/passwd", "symlink l -> etc"},
			layer: func(b *testutil.TarBuilder) *testutil.TarBuilder { return b.Whiteout(".wh.l") },
			want:  []string{"dir etc 0755", "file etc/passwd 0644"}},
		// Row 17: opaque directories.
		{name: "opaque-after-children", lower: []string{"dir d", "file d/old", "dir d/sub", "file d/sub/x"},
			layer: func(b *testutil.TarBuilder) *testutil.TarBuilder {
				return b.File("d/new", 0o644, "n").File("d/sub/y", 0o644, "y").Whiteout("d/.wh..wh..opq")
			},
			want: []string{"dir d 0755", "file d/new 0644 n", "dir d/sub 0755", "file d/sub/y 0644 y"}},
		{name: "opaque-before-children", lower: []string{"dir d", "file d/old", "dir d/sub", "file d/sub/x"},
			layer: func(b *testutil.TarBuilder) *testutil.TarBuilder {
				return b.Dir("d", 0o755).Whiteout("d/.wh..wh..opq").File("d/new", 0o644, "n")
			},
			want: []string{"dir d 0755", "file d/new 0644 n"}},
		{name: "opaque-root", lower: []string{"file r", "dir s", "file s/t"},
			layer: func(b *testutil.TarBuilder) *testutil.TarBuilder {
				return b.Whiteout(".wh..wh..opq").File("n", 0o644, "n")
			},
			want: []string{"file n 0644 n"}},
		{name: "opaque-new-dir", layer: func(b *testutil.TarBuilder) *testutil.TarBuilder {
			return b.Dir("e", 0o755).File("e/f", 0o644, "f").Whiteout("e/.wh..wh..opq")
		}, want: []string{"dir e 0755", "file e/f 0644 f"}},
		{name: "opaque-then-whiteout-of-dir", lower: []string{"dir d", "file d/old"},
			layer: func(b *testutil.TarBuilder) *testutil.TarBuilder {
				return b.Whiteout("d/.wh..wh..opq").File("d/new", 0o644, "n").Whiteout(".wh.d")
			},
			want: []string{"dir d 0755", "file d/new 0644 n"}},
		{name: "aufs-metadata-skipped", layer: func(b *testutil.TarBuilder) *testutil.TarBuilder {
			return b.Dir(".wh..wh.plnk", 0o700).File(".wh..wh.plnk/1.2", 0o644, "x").File(".wh..wh.aufs", 0o644, "")
		}, want: nil},
		// Row 20: duplicates, the last wins.
		{name: "duplicate-files", layer: func(b *testutil.TarBuilder) *testutil.TarBuilder {
			return b.File("f", 0o644, "one").File("f", 0o600, "two")
		}, want: []string{"file f 0600 two"}},
		{name: "duplicate-dirs", layer: func(b *testutil.TarBuilder) *testutil.TarBuilder {
			return b.Dir("d", 0o700).File("d/f", 0o644, "").Dir("d", 0o751)
		}, want: []string{"dir d 0751", "file d/f 0644"}},
		{name: "file-then-symlink", layer: func(b *testutil.TarBuilder) *testutil.TarBuilder {
			return b.File("x", 0o644, "x").Symlink("x", "/target")
		}, want: []string{"symlink x -> /target"}},
		{name: "symlink-then-file", lower: []string{"file target 0644 keep"}, layer: func(b *testutil.TarBuilder) *testutil.TarBuilder {
			return b.Symlink("x", "target").File("x", 0o644, "x")
		}, want: []string{"file target 0644 keep", "file x 0644 x"}},
		// Rows 3-5: type changes in both directions.
		{name: "file-to-dir", lower: []string{"file t 0644 old"}, layer: func(b *testutil.TarBuilder) *testutil.TarBuilder {
			return b.Dir("t", 0o755).File("t/c", 0o644, "c")
		}, want: []string{"dir t 0755", "file t/c 0644 c"}},
		{name: "dir-to-file", lower: []string{"dir t", "dir t/sub", "file t/sub/x"}, layer: func(b *testutil.TarBuilder) *testutil.TarBuilder {
			return b.File("t", 0o644, "f")
		}, want: []string{"file t 0644 f"}},
		{name: "symlink-to-dir", lower: []string{"dir real", "symlink t -> real"}, layer: func(b *testutil.TarBuilder) *testutil.TarBuilder {
			return b.Dir("t", 0o700).File("t/in", 0o644, "in")
		}, want: []string{"dir real 0755", "dir t 0700", "file t/in 0644 in"}},
		{name: "dir-to-symlink", lower: []string{"dir t", "file t/x"}, layer: func(b *testutil.TarBuilder) *testutil.TarBuilder {
			return b.Symlink("t", "elsewhere")
		}, want: []string{"symlink t -> elsewhere"}},
		{name: "fifo-to-file", lower: []string{"fifo t"}, layer: func(b *testutil.TarBuilder) *testutil.TarBuilder {
			return b.File("t", 0o644, "f")
		}, want: []string{"file t 0644 f"}},
		{name: "file-to-fifo", lower: []string{"file t"}, layer: func(b *testutil.TarBuilder) *testutil.TarBuilder {
			return b.Fifo("t", 0o640)
		}, want: []string{"fifo t 0640"}},
		// Rows 8-12: implied parents and hard links.
		{name: "implied-parents", layer: func(b *testutil.TarBuilder) *testutil.TarBuilder {
			return b.File("x/y/z", 0o600, "z")
		}, want: []string{"dir x 0755", "dir x/y 0755", "file x/y/z 0600 z"}},
		{name: "symlinked-parent", lower: []string{"dir usr", "dir usr/lib", "symlink lib -> usr/lib"},
			layer: func(b *testutil.TarBuilder) *testutil.TarBuilder { return b.File("lib/x.so", 0o755, "so") },
			want:  []string{"dir usr 0755", "dir usr/lib 0755", "file usr/lib/x.so 0755 so", "symlink lib -> usr/lib"}},
		{name: "hardlink-to-lower-file", lower: []string{"file base 0644 data"}, layer: func(b *testutil.TarBuilder) *testutil.TarBuilder {
			return b.Header(&tar.Header{Typeflag: tar.TypeLink, Name: "l", Linkname: "base", Mode: 0o4777, Uid: b.UID, Gid: b.GID}, nil)
		}, want: []string{"file base 0644 data", "file l 0644 data"}},
		{name: "hardlink-to-same-layer-file", layer: func(b *testutil.TarBuilder) *testutil.TarBuilder {
			return b.File("a", 0o640, "data").Hardlink("b", "a").Hardlink("c", "/b")
		}, want: []string{"file a 0640 data", "file b 0640 data", "file c 0640 data"}},
		// Row 22: owner before mode, so setuid and setgid survive.
		{name: "setuid-after-chown", layer: func(b *testutil.TarBuilder) *testutil.TarBuilder {
			return b.File("suid", 0o4755, "x").File("sgid", 0o2711, "y").Dir("sgdir", 0o2775).Dir("sticky", 0o1777)
		}, want: []string{"file suid 4755 x", "file sgid 2711 y", "dir sgdir 2775", "dir sticky 1777"}},
	}
	forEachBackend(t, func(t *testing.T, res pathrs.Resolver) {
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				dir := t.TempDir()
				testutil.MakeTree(t, dir, tc.lower...)
				mustApply(t, dir, res, tc.layer(newTar(t)).Bytes())
				assertTree(t, dir, tc.want...)
			})
		}
	})
}

// TestUmaskIndependent applies a layer under umask 077: modes are exact.
func TestUmaskIndependent(t *testing.T) {
	old := unix.Umask(0o077)
	t.Cleanup(func() { unix.Umask(old) })
	forEachBackend(t, func(t *testing.T, res pathrs.Resolver) {
		dir := t.TempDir()
		mustApply(t, dir, res, newTar(t).File("a/b/f", 0o644, "f").Dir("d", 0o775).Fifo("p", 0o666).Bytes())
		assertTree(t, dir, "dir a 0755", "dir a/b 0755", "file a/b/f 0644 f", "dir d 0775", "fifo p 0666")
	})
}

// TestDirectoryTimes checks that directory times are as in the layer after
// their children were written, removed or re-entered (row 21; umoci's
// TestUnpackEntryWhiteout checks the parent's times after a whiteout).
func TestDirectoryTimes(t *testing.T) {
	t1 := time.Date(2001, 2, 3, 4, 5, 6, 789, time.UTC)
	t2 := time.Date(2002, 2, 3, 4, 5, 6, 123456789, time.UTC)
	dirAt := func(b *testutil.TarBuilder, name string, mt time.Time) *testutil.TarBuilder {
		return b.Header(&tar.Header{Typeflag: tar.TypeDir, Name: name, Mode: 0o755, Uid: b.UID, Gid: b.GID,
			ModTime: mt, AccessTime: mt}, nil)
	}
	forEachBackend(t, func(t *testing.T, res pathrs.Resolver) {
		dir := t.TempDir()
		testutil.MakeTree(t, dir, "dir w", "file w/old", "dir o", "dir o/sub", "file o/sub/x", "file o/y")
		b := newTar(t)
		dirAt(b, "./", t2)
		dirAt(b, "a", t1).File("a/f", 0o644, "f")
		dirAt(b, "a/e", t2).File("a/e/g", 0o644, "g")
		b.File("a/h", 0o644, "h").File("z", 0o644, "z")
		dirAt(b, "b", t1)
		b.File("a/late", 0o644, "re-entered") // re-enters a finished directory
		dirAt(b, "w", t2).Whiteout("w/.wh.old")
		dirAt(b, "o", t1)
		dirAt(b, "o/sub", t2).File("o/sub/new", 0o644, "n").File("o/keep", 0o644, "k").Whiteout("o/.wh..wh..opq")
		b.File("implied/deep/f", 0o644, "i")
		mustApply(t, dir, res, b.Bytes())
		for name, want := range map[string]time.Time{".": t2, "a": t1, "a/e": t2, "b": t1, "w": t2, "o": t1, "o/sub": t2} {
			var st unix.Stat_t
			if err := unix.Lstat(dir+"/"+name, &st); err != nil {
				t.Fatal(err)
			}
			if got := time.Unix(st.Mtim.Unix()); !got.Equal(want) {
				t.Errorf("%s: mtime %v, want %v", name, got.UTC(), want)
			}
			if got := time.Unix(st.Atim.Unix()); !got.Equal(want) {
				t.Errorf("%s: atime %v, want %v", name, got.UTC(), want)
			}
		}
		assertTree(t, dir, "dir a 0755", "file a/f 0644 f", "dir a/e 0755", "file a/e/g 0644 g", "file a/h 0644 h",
			"file a/late 0644 re-entered", "file z 0644 z", "dir b 0755", "dir w 0755", "dir o 0755", "dir o/sub 0755",
			"file o/sub/new 0644 n", "file o/keep 0644 k", "dir implied 0755", "dir implied/deep 0755",
			"file implied/deep/f 0644 i")
	})
}

// TestFileTimes checks nanosecond times on files and symlinks, and that a
// missing access time takes the modification time.
func TestFileTimes(t *testing.T) {
	mt := time.Date(2010, 1, 1, 1, 1, 1, 987654321, time.UTC)
	at := time.Date(2011, 1, 1, 1, 1, 1, 1, time.UTC)
	forEachBackend(t, func(t *testing.T, res pathrs.Resolver) {
		dir := t.TempDir()
		b := newTar(t)
		b.Header(&tar.Header{Typeflag: tar.TypeReg, Name: "f", Mode: 0o644, Uid: b.UID, Gid: b.GID, ModTime: mt, AccessTime: at}, nil)
		b.Header(&tar.Header{Typeflag: tar.TypeSymlink, Name: "l", Linkname: "f", Uid: b.UID, Gid: b.GID, ModTime: mt,
			Format: tar.FormatPAX}, nil)
		b.Header(&tar.Header{Typeflag: tar.TypeReg, Name: "old", Mode: 0o644, Uid: b.UID, Gid: b.GID,
			ModTime: time.Date(1500, 1, 1, 0, 0, 0, 0, time.UTC)}, nil)
		mustApply(t, dir, res, b.Bytes())
		// Year 1500 is clamped (to 1678 by us, then to the filesystem's
		// range by the kernel: 1901 on ext4), never an error.
		var st unix.Stat_t
		if err := unix.Lstat(dir+"/old", &st); err != nil {
			t.Fatal(err)
		}
		if got := time.Unix(st.Mtim.Unix()); !got.Before(time.Unix(0, 0)) {
			t.Errorf("old: mtime %v, want a clamped date before 1970", got.UTC())
		}
		for _, c := range []struct {
			name   string
			mt, at time.Time
		}{{"f", mt, at}, {"l", mt, mt}} {
			var st unix.Stat_t
			if err := unix.Lstat(dir+"/"+c.name, &st); err != nil {
				t.Fatal(err)
			}
			if got := time.Unix(st.Mtim.Unix()); !got.Equal(c.mt) {
				t.Errorf("%s: mtime %v, want %v", c.name, got.UTC(), c.mt)
			}
			if got := time.Unix(st.Atim.Unix()); !got.Equal(c.at) {
				t.Errorf("%s: atime %v, want %v", c.name, got.UTC(), c.at)
			}
		}
	})
}
