package unpack

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	v1 "github.com/opencontainers/image-spec/specs-go/v1"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/safeunpack/safeunpack/internal/imagegen"
	"github.com/safeunpack/safeunpack/internal/testutil"
	"github.com/safeunpack/safeunpack/layer"
)

// rootlessDirEnv passes the parent's directory to a re-executed child.
const rootlessDirEnv = "SAFEUNPACK_TEST_ROOTLESS_DIR"

// ownerImage writes, at dir, the image of the rootless and --uid-map tests:
// owners 0, 1000, 65534, 70000 and 0:42, a 0000 directory with children (and a
// 0500 one inside it), /etc/gshadow 0000, a setuid and a setgid file, a
// character device; the second layer writes into the 0000 directory and
// whites out inside the 0500 one.
func ownerImage(t testing.TB, dir string) {
	t.Helper()
	l, err := imagegen.Create(dir)
	if err != nil {
		t.Fatal(err)
	}
	md, err := l.Image(imagegen.Image{
		Layers: []imagegen.Layer{
			{Compression: imagegen.Gzip, Entries: []imagegen.Entry{
				imagegen.Dir("etc", 0o755, 0, 0),
				imagegen.File("etc/passwd", 0o644, 0, 0, "root:x:0:0::/root:/bin/sh\n"),
				imagegen.File("etc/gshadow", 0o000, 0, 42, "g"),
				imagegen.Dir("home/u", 0o750, 1000, 1000),
				imagegen.File("home/u/f", 0o640, 1000, 1000, "u"),
				imagegen.File("nobody.txt", 0o644, 65534, 65534, "n"),
				imagegen.File("far.txt", 0o644, 70000, 70000, "far"),
				imagegen.Dir("usr/bin", 0o755, 0, 0),
				imagegen.File("usr/bin/su", 0o4755, 0, 0, "su"),
				imagegen.File("usr/bin/wall", 0o2755, 0, 5, "w"),
				imagegen.Dir("locked", 0o000, 0, 0),
				imagegen.File("locked/a", 0o644, 1000, 1000, "a"),
				imagegen.Dir("locked/sub", 0o500, 0, 0),
				imagegen.File("locked/sub/b", 0o444, 0, 0, "b"),
				imagegen.Dir("dev", 0o755, 0, 0),
				imagegen.Char("dev/null", 0o666, 1, 3),
			}},
			{Compression: imagegen.Zstd, Entries: []imagegen.Entry{
				imagegen.File("locked/c", 0o600, 65534, 65534, "c"),
				imagegen.Whiteout("locked/sub", "b"),
			}},
		},
		Config:   v1.ImageConfig{Cmd: []string{"/bin/true"}},
		Platform: v1.Platform{OS: "linux", Architecture: "amd64"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := l.WriteIndex(imagegen.Tagged(md, "latest")); err != nil {
		t.Fatal(err)
	}
}

// ownerWantRootless is ownerImage as a rootless consumer sees it: every
// owner and mode the image's, the device an empty file.
var ownerWantRootless = []string{
	"dir dev 0755 0:0",
	"file dev/null 0666 0:0",
	"dir etc 0755 0:0",
	"file etc/gshadow 0000 0:42 g",
	"file etc/passwd 0644 0:0 root:x:0:0::/root:/bin/sh\n",
	"dir home 0755 0:0",
	"dir home/u 0750 1000:1000",
	"file home/u/f 0640 1000:1000 u",
	"dir locked 0000 0:0",
	"file locked/a 0644 1000:1000 a",
	"file locked/c 0600 65534:65534 c",
	"dir locked/sub 0500 0:0",
	"file nobody.txt 0644 65534:65534 n",
	"file far.txt 0644 70000:70000 far",
	"dir usr 0755 0:0",
	"dir usr/bin 0755 0:0",
	"file usr/bin/su 4755 0:0 su",
	"file usr/bin/wall 2755 0:5 w",
}

// ownerWantMapped is ownerImage unpacked as root with
// --uid-map 0:100000:100000 --gid-map 0:100000:100000: owners on disk are
// the mapped ids, implied directories the mapped root, the device real.
var ownerWantMapped = []string{
	"dir dev 0755 100000:100000",
	"char dev/null 0666 100000:100000 1 3",
	"dir etc 0755 100000:100000",
	"file etc/gshadow 0000 100000:100042 g",
	"file etc/passwd 0644 100000:100000 root:x:0:0::/root:/bin/sh\n",
	"dir home 0755 100000:100000",
	"dir home/u 0750 101000:101000",
	"file home/u/f 0640 101000:101000 u",
	"dir locked 0000 100000:100000",
	"file locked/a 0644 101000:101000 a",
	"file locked/c 0600 165534:165534 c",
	"dir locked/sub 0500 100000:100000",
	"file nobody.txt 0644 165534:165534 n",
	"file far.txt 0644 170000:170000 far",
	"dir usr 0755 100000:100000",
	"dir usr/bin 0755 100000:100000",
	"file usr/bin/su 4755 100000:100000 su",
	"file usr/bin/wall 2755 100000:100005 w",
}

// unpackRootlessChild is the child's part of TestRootlessUnpack: Unpack
// ownerImage and the demo image and apply their layers one by one with
// ApplyLayerFile, all without Rootless (the mode must follow the
// detected privilege), and check what only the child sees.
func unpackRootlessChild(t *testing.T, dir string, wantPrivilege string, wantMap specs.LinuxIDMapping) {
	opts := Options{Platform: "linux/amd64", Logger: quietLogger}
	layout := filepath.Join(dir, "layout")
	for _, b := range []struct{ ref, bundle string }{{layout, "bundle"}, {demoLayout, "demo"}} {
		rec, err := Unpack(t.Context(), Reference{Layout: b.ref}, filepath.Join(dir, b.bundle), opts)
		if err != nil {
			t.Fatalf("Unpack %s: %v", b.ref, err)
		}
		if !rec.Options.Rootless || rec.Options.Privilege != wantPrivilege {
			t.Errorf("%s: record options %+v, want rootless with privilege %q", b.ref, rec.Options, wantPrivilege)
		}
		var spec specs.Spec
		readJSONFile(t, filepath.Join(dir, b.bundle, "config.json"), &spec)
		checkRootlessSpec(t, &spec, wantMap, wantMap)
	}
	for _, a := range []struct{ layout, rootfs string }{{layout, "applied"}, {demoLayout, "demo-applied"}} {
		_, m := firstManifest(t, a.layout)
		for _, l := range m.Layers {
			if _, err := ApplyLayerFile(t.Context(), blobFile(a.layout, l.Digest), filepath.Join(dir, a.rootfs), opts); err != nil {
				t.Fatalf("ApplyLayerFile %s: %v", a.layout, err)
			}
		}
	}
}

// checkRootlessSpec checks config.json of a rootless bundle against what
// `runc spec --rootless` produces.
func checkRootlessSpec(t testing.TB, s *specs.Spec, wantUID, wantGID specs.LinuxIDMapping) {
	t.Helper()
	if len(s.Linux.UIDMappings) != 1 || s.Linux.UIDMappings[0] != wantUID || len(s.Linux.GIDMappings) != 1 ||
		s.Linux.GIDMappings[0] != wantGID {
		t.Errorf("mappings %+v %+v, want %+v %+v", s.Linux.UIDMappings, s.Linux.GIDMappings, wantUID, wantGID)
	}
	var types []specs.LinuxNamespaceType
	for _, n := range s.Linux.Namespaces {
		types = append(types, n.Type)
	}
	if !slices.Contains(types, specs.UserNamespace) || slices.Contains(types, specs.NetworkNamespace) ||
		slices.Contains(types, specs.CgroupNamespace) {
		t.Errorf("namespaces %v: want user, no network, no cgroup", types)
	}
	if s.Linux.Resources != nil {
		t.Errorf("resources %+v: want none", s.Linux.Resources)
	}
	sysBind := 0
	for _, m := range s.Mounts {
		for _, o := range m.Options {
			if strings.HasPrefix(o, "gid=") || strings.HasPrefix(o, "uid=") {
				t.Errorf("mount %s keeps %s", m.Destination, o)
			}
		}
		switch {
		case m.Destination == "/sys" && m.Type == "none" && m.Source == "/sys" && slices.Contains(m.Options, "rbind") &&
			slices.Contains(m.Options, "ro"):
			sysBind++
		case strings.HasPrefix(m.Destination, "/sys"), m.Type == "sysfs", m.Type == "cgroup":
			t.Errorf("rootless spec keeps mount %+v", m)
		}
	}
	if sysBind != 1 {
		t.Errorf("mounts %+v: want /sys bind-mounted read-only once", s.Mounts)
	}
}

// TestRootlessUnpack unpacks ownerImage and the demo image, and applies
// their layers, without asking for rootless (detection must choose it):
// as nobody; as root of a user namespace that maps only nobody; and as root
// of one that maps a subordinate range of 65536 ids, where the owners it
// holds are chowned to and only the others (70000) recorded. The trees are
// compared with the image through the recorded owners.
func TestRootlessUnpack(t *testing.T) {
	dir := os.Getenv(rootlessDirEnv)
	nsMap := specs.LinuxIDMapping{ContainerID: 0, HostID: 0, Size: 1}
	switch testutil.ReexecChild() {
	case testutil.AsNobody:
		unpackRootlessChild(t, dir, "unprivileged", specs.LinuxIDMapping{ContainerID: 0, HostID: testutil.NobodyID, Size: 1})
		return
	case testutil.InUserNSRoot:
		unpackRootlessChild(t, dir, "root in a user namespace", nsMap)
		return
	case testutil.InUserNSRootRange:
		nsMap.Size = testutil.SubIDCount
		unpackRootlessChild(t, dir, "root in a user namespace", nsMap)
		return
	}
	if !testutil.IsRoot() {
		dir := t.TempDir()
		ownerImage(t, filepath.Join(dir, "layout"))
		unpackRootlessChild(t, dir, "unprivileged",
			specs.LinuxIDMapping{ContainerID: 0, HostID: uint32(os.Geteuid()), Size: 1})
		checkRootlessTrees(t, dir, caller(uint32(os.Geteuid())), false)
		return
	}
	for _, mode := range []testutil.ReexecMode{testutil.AsNobody, testutil.InUserNSRoot} {
		t.Run(string(mode), func(t *testing.T) {
			dir := testutil.PrivateTempDir(t)
			ownerImage(t, filepath.Join(dir, "layout"))
			testutil.Reexec(t, mode, rootlessDirEnv+"="+dir)
			checkRootlessTrees(t, dir, caller(testutil.NobodyID), false)
		})
	}
	t.Run(string(testutil.InUserNSRootRange), func(t *testing.T) {
		dir := testutil.PrivateTempDir(t)
		if err := os.Chown(dir, testutil.SubIDBase, testutil.SubIDBase); err != nil {
			t.Fatal(err)
		}
		ownerImage(t, filepath.Join(dir, "layout"))
		testutil.Reexec(t, testutil.InUserNSRootRange, rootlessDirEnv+"="+dir)
		checkRootlessTrees(t, dir, shifted(testutil.SubIDBase, testutil.SubIDCount), true)
		// Chowned for real where the namespace could, recorded elsewhere.
		for name, want := range map[string]string{
			"home/u/f": "101000:101000 -", "nobody.txt": "165534:165534 -", "far.txt": "100000:100000 70000:70000",
		} {
			p := filepath.Join(dir, "bundle", "rootfs", name)
			var st unix.Stat_t
			if err := unix.Lstat(p, &st); err != nil {
				t.Fatal(err)
			}
			rec, found, err := recordedOwner(p)
			got := fmt.Sprintf("%d:%d -", st.Uid, st.Gid)
			if found {
				got = fmt.Sprintf("%d:%d %d:%d", st.Uid, st.Gid, rec.UID, rec.GID)
			}
			if err != nil || got != want {
				t.Errorf("%s: on disk and recorded %s (%v), want %s", name, got, err, want)
			}
		}
	})
}

func checkRootlessTrees(t *testing.T, dir string, toContainer func(uint32) uint32, demoNoRecords bool) {
	t.Helper()
	assertView(t, "unpacked", ownerView(t, filepath.Join(dir, "bundle", "rootfs"), true, toContainer), ownerWantRootless)
	assertView(t, "applied", ownerView(t, filepath.Join(dir, "applied"), true, toContainer), ownerWantRootless)
	checkRootlessDemo(t, filepath.Join(dir, "demo", "rootfs"), toContainer, demoNoRecords)
	checkRootlessDemo(t, filepath.Join(dir, "demo-applied"), toContainer, demoNoRecords)
}

// TestUIDMapUnpack, as root: with --uid-map and --gid-map every owner on
// disk is the mapped id and config.json maps the same ranges; an id
// outside the maps fails the unpack with an error naming the entry and the
// id, with a hint about subordinate ids, and leaves nothing.
func TestUIDMapUnpack(t *testing.T) {
	testutil.RequireRoot(t)
	layout := filepath.Join(t.TempDir(), "layout")
	ownerImage(t, layout)
	m := []layer.IDMap{{ContainerID: 0, HostID: 100000, Size: 100000}}
	opts := Options{Platform: "linux/amd64", Logger: quietLogger, UIDMap: m, GIDMap: m}
	bundle := filepath.Join(t.TempDir(), "bundle")
	rec, err := Unpack(t.Context(), Reference{Layout: layout}, bundle, opts)
	if err != nil {
		t.Fatalf("Unpack: %v", err)
	}
	assertView(t, "mapped", ownerView(t, filepath.Join(bundle, "rootfs"), false, nil), ownerWantMapped)
	var spec specs.Spec
	readJSONFile(t, filepath.Join(bundle, "config.json"), &spec)
	want := specs.LinuxIDMapping{ContainerID: 0, HostID: 100000, Size: 100000}
	if len(spec.Linux.UIDMappings) != 1 || spec.Linux.UIDMappings[0] != want || spec.Linux.GIDMappings[0] != want ||
		!slices.ContainsFunc(spec.Linux.Namespaces, func(n specs.LinuxNamespace) bool { return n.Type == specs.UserNamespace }) {
		t.Errorf("config.json linux %+v: want a user namespace mapping %+v", spec.Linux, want)
	}
	if rec.Options.Rootless || rec.Options.Privilege != "root" || len(rec.Options.UIDMap) != 1 {
		t.Errorf("record options %+v", rec.Options)
	}

	for _, tc := range []struct {
		name       string
		uids, gids []layer.IDMap
		msg        []string // in the error
	}{
		{"uid 65534 unmapped", []layer.IDMap{{ContainerID: 0, HostID: 100000, Size: 1001}}, m,
			[]string{`"nobody.txt"`, "uid 65534", "/etc/subuid"}},
		{"gid 42 unmapped", m, []layer.IDMap{{ContainerID: 0, HostID: 100000, Size: 6}},
			[]string{`"etc/gshadow"`, "gid 42", "/etc/subgid"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			parent := t.TempDir()
			o := opts
			o.UIDMap, o.GIDMap = tc.uids, tc.gids
			_, err := Unpack(t.Context(), Reference{Layout: layout}, filepath.Join(parent, "bundle"), o)
			if !errors.Is(err, layer.ErrUnmappedID) {
				t.Fatalf("Unpack: got %v, want ErrUnmappedID", err)
			}
			for _, s := range tc.msg {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q lacks %q", err, s)
				}
			}
			assertNoLeftovers(t, parent)
		})
	}
}
