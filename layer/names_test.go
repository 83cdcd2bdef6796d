package layer

import (
	"archive/tar"
	"errors"
	"strings"
	"testing"
)

func TestCleanName(t *testing.T) {
	cases := []struct {
		raw  string // name as in the archive
		want string // cleaned path
		abs  bool   // leading '/' stripped
		clmp bool   // ".." clamped at the root
	}{
		{raw: "a/b", want: "a/b"},
		{raw: "./a//b/", want: "a/b"},
		{raw: "/etc/passwd", want: "etc/passwd", abs: true},
		{raw: "../victim/x", want: "victim/x", clmp: true},
		{raw: "/../victim/x", want: "victim/x", abs: true, clmp: true},
		{raw: "a/../../victim/x", want: "victim/x", clmp: true},
		{raw: "a/b/../c", want: "a/c"},
		{raw: "", want: "."},
		{raw: ".", want: "."},
		{raw: "./", want: "."},
		{raw: "/", want: ".", abs: true},
		{raw: "a/..", want: "."},
		{raw: "..", want: ".", clmp: true},
		{raw: "...", want: "..."},
	}
	for _, c := range cases {
		got, err := cleanName(c.raw)
		if err != nil || got.path != c.want || got.absolute != c.abs || got.clamped != c.clmp {
			t.Errorf("cleanName(%q) = %+v, %v; want {%q abs=%v clamped=%v}", c.raw, got, err, c.want, c.abs, c.clmp)
		}
	}
	if _, err := cleanName("a\x00b"); !errors.Is(err, ErrInvalidEntry) {
		t.Errorf("NUL: got %v, want ErrInvalidEntry", err)
	}
	if _, err := cleanName(strings.Repeat("a/", 2049)); !errors.Is(err, ErrLimitExceeded) {
		t.Errorf("long: got %v, want ErrLimitExceeded", err)
	}
}

func TestClassifyWhiteout(t *testing.T) {
	cases := []struct {
		path   string
		kind   whiteoutKind
		target string
		bad    bool
	}{
		{path: "a/b", kind: notWhiteout},
		{path: "a/.whiteout", kind: notWhiteout},
		{path: ".wh.x", kind: plainWhiteout, target: "x"},
		{path: "a/b/.wh.c", kind: plainWhiteout, target: "a/b/c"},
		{path: "a/.wh..wh..opq", kind: opaqueMarker, target: "a"},
		{path: ".wh..wh..opq", kind: opaqueMarker, target: "."},
		{path: ".wh..wh.plnk", kind: aufsMeta},
		{path: ".wh..wh.plnk/123.456", kind: aufsMeta},
		{path: "a/.wh..wh.orph", kind: aufsMeta},
		{path: ".wh.", bad: true},
		{path: ".wh..", bad: true},
		{path: ".wh...", bad: true},
		{path: "etc/.wh..", bad: true},
		{path: ".wh.etc/somefile", bad: true},
		{path: "a/.wh.b/c", bad: true},
		{path: ".wh....", kind: plainWhiteout, target: "..."},
	}
	for _, c := range cases {
		kind, target, err := classifyWhiteout(c.path)
		if c.bad {
			if !errors.Is(err, ErrInvalidWhiteout) || !errors.Is(err, ErrInvalidEntry) || !errors.Is(err, ErrInvalidArchive) {
				t.Errorf("classifyWhiteout(%q): got %v, want ErrInvalidWhiteout", c.path, err)
			}
			continue
		}
		if err != nil || kind != c.kind || target != c.target {
			t.Errorf("classifyWhiteout(%q) = %v, %q, %v; want %v, %q", c.path, kind, target, err, c.kind, c.target)
		}
	}
}

func TestPathHelpers(t *testing.T) {
	for _, c := range []struct {
		p, dir string
		want   bool
	}{
		{"a/b", "a", true}, {"a", "a", true}, {"ab", "a", false}, {"a/b", ".", true}, {".", ".", true}, {"a", "a/b", false},
	} {
		if got := isWithin(c.p, c.dir); got != c.want {
			t.Errorf("isWithin(%q, %q) = %v", c.p, c.dir, got)
		}
	}
	if p, n := splitPath("a/b/c"); p != "a/b" || n != "c" {
		t.Errorf("splitPath: %q %q", p, n)
	}
	if p, n := splitPath("c"); p != "." || n != "c" {
		t.Errorf("splitPath: %q %q", p, n)
	}
	if joinPath(".", "x") != "x" || joinPath("a", "x") != "a/x" || parentPath(".") != "." || parentPath("a") != "." {
		t.Error("joinPath/parentPath")
	}
}

func TestParseEntry(t *testing.T) {
	ok := func(h *tar.Header) *tar.Header {
		if h.Mode == 0 {
			h.Mode = 0o644
		}
		return h
	}
	bad := []*tar.Header{
		ok(&tar.Header{Typeflag: 'X', Name: "x"}),
		ok(&tar.Header{Typeflag: tar.TypeReg, Name: "x", Mode: -1}),
		ok(&tar.Header{Typeflag: tar.TypeReg, Name: "x", Mode: 0o1000000}),
		ok(&tar.Header{Typeflag: tar.TypeReg, Name: "x", Uid: -1}),
		ok(&tar.Header{Typeflag: tar.TypeReg, Name: "x", Gid: 1 << 32}),
		ok(&tar.Header{Typeflag: tar.TypeReg, Name: "x", Size: -5}),
		ok(&tar.Header{Typeflag: tar.TypeSymlink, Name: "x", Linkname: ""}),
		ok(&tar.Header{Typeflag: tar.TypeSymlink, Name: "x", Linkname: "a\x00b"}),
		ok(&tar.Header{Typeflag: tar.TypeLink, Name: "x", Linkname: "/"}),
		ok(&tar.Header{Typeflag: tar.TypeChar, Name: "x", Devmajor: -1}),
		ok(&tar.Header{Typeflag: tar.TypeBlock, Name: "x", Devminor: 1 << 33}),
		ok(&tar.Header{Typeflag: tar.TypeSymlink, Name: "./", Linkname: "/etc"}),
		ok(&tar.Header{Typeflag: tar.TypeReg, Name: "x", PAXRecords: map[string]string{"SCHILY.xattr.": "v"}}),
		ok(&tar.Header{Typeflag: tar.TypeReg, Name: "x", PAXRecords: map[string]string{"SCHILY.xattr.user.a\x00b": "v"}}),
		ok(&tar.Header{Typeflag: tar.TypeReg, Name: "x", PAXRecords: map[string]string{"SCHILY.xattr.user." + strings.Repeat("n", 300): "v"}}),
	}
	for _, h := range bad {
		if _, err := parseEntry(h); !errors.Is(err, ErrInvalidEntry) {
			t.Errorf("parseEntry(%+v): got %v, want ErrInvalidEntry", h, err)
		}
	}
	e, err := parseEntry(&tar.Header{Typeflag: tar.TypeReg, Name: "f", Mode: 0o104755,
		PAXRecords: map[string]string{"SCHILY.xattr.security.capability": "c", "SCHILY.xattr.security.selinux": "s",
			"SCHILY.xattr.user.b": "b", "SCHILY.xattr.user.a": "a", "GNU.sparse.major": "1"}})
	if err != nil || e.mode != 0o4755 || !e.sparse || len(e.xattrs) != 3 || e.xattrs[0].name != "security.capability" ||
		len(e.dropped) != 1 || e.dropped[0] != "security.selinux" {
		t.Errorf("parseEntry: %+v, %v", e, err)
	}
	if e, err := parseEntry(&tar.Header{Typeflag: tar.TypeXGlobalHeader, Name: "../x\x00"}); err != nil || e.kind != kindIgnore {
		t.Errorf("global header: %+v, %v", e, err)
	}
}

func TestCompressionFromMediaType(t *testing.T) {
	for mt, want := range map[string]Compression{
		"":                                       CompressionAuto,
		"application/vnd.oci.image.layer.v1.tar": CompressionNone,
		"application/vnd.oci.image.layer.v1.tar+gzip":                    CompressionGzip,
		"application/vnd.oci.image.layer.v1.tar+zstd; foo=bar":           CompressionZstd,
		"application/vnd.oci.image.layer.nondistributable.v1.tar+gzip":   CompressionGzip,
		"application/vnd.docker.image.rootfs.diff.tar.gzip":              CompressionGzip,
		"application/vnd.docker.image.rootfs.foreign.diff.tar.gzip":      CompressionGzip,
		"application/vnd.docker.image.rootfs.diff.tar.zstd":              CompressionZstd,
		"APPLICATION/VND.OCI.IMAGE.LAYER.V1.TAR+GZIP":                    CompressionGzip,
		"application/vnd.oci.image.layer.nondistributable.v1.tar":        CompressionNone,
		"application/vnd.oci.image.layer.nondistributable.v1.tar+zstd  ": CompressionZstd,
	} {
		if got, err := CompressionFromMediaType(mt); err != nil || got != want {
			t.Errorf("CompressionFromMediaType(%q) = %v, %v; want %v", mt, got, err, want)
		}
	}
	for _, mt := range []string{"application/vnd.oci.image.manifest.v1+json", "application/x-tar+bzip2", "text/plain"} {
		if _, err := CompressionFromMediaType(mt); !errors.Is(err, ErrUnsupportedCompression) || !strings.Contains(err.Error(), mt) {
			t.Errorf("CompressionFromMediaType(%q): got %v", mt, err)
		}
	}
	for head, want := range map[string]Compression{
		"\x1f\x8b\x08": CompressionGzip, "\x28\xb5\x2f\xfd": CompressionZstd, "\x5e\x2a\x4d\x18": CompressionZstd,
		"etc/\x00": CompressionNone, "": CompressionNone, "BZ": CompressionNone,
	} {
		if got, err := detectCompression([]byte(head)); err != nil || got != want {
			t.Errorf("detectCompression(%q) = %v, %v; want %v", head, got, err, want)
		}
	}
}
