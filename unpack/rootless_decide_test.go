package unpack

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	v1 "github.com/opencontainers/image-spec/specs-go/v1"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/safeunpack/safeunpack/internal/userns"
	"github.com/safeunpack/safeunpack/layer"
	"github.com/safeunpack/safeunpack/procfs"
)

var (
	infoRoot   = userns.Info{Mode: userns.InitialRoot, UIDMap: []procfs.IDRange{{Size: 1<<32 - 1}}}
	infoNobody = userns.Info{Mode: userns.Unprivileged, UID: 1000, GID: 1001,
		UIDMap: []procfs.IDRange{{Size: 1<<32 - 1}}, GIDMap: []procfs.IDRange{{Size: 1<<32 - 1}}}
	infoNSRoot = userns.Info{Mode: userns.NamespaceRoot,
		UIDMap: []procfs.IDRange{{ContainerID: 0, HostID: 1000, Size: 1}, {ContainerID: 1, HostID: 100000, Size: 65536}},
		GIDMap: []procfs.IDRange{{ContainerID: 0, HostID: 1000, Size: 1}}}
)

func idmaps(s string) []layer.IDMap {
	var out []layer.IDMap
	for _, f := range strings.Split(s, ",") {
		if f == "" {
			continue
		}
		m, err := ParseIDMap(f)
		if err != nil {
			panic(err)
		}
		out = append(out, m)
	}
	return out
}

func TestDecideOwnership(t *testing.T) {
	for _, tc := range []struct {
		name       string
		info       userns.Info
		opts       Options
		rootless   bool   // the decision
		layer      string // layer uid and gid maps, "uids|gids"
		spec       string // config.json maps, "uids|gids"
		wantErrStr string // an ErrInvalidOptions error containing this
	}{
		{name: "root", info: infoRoot, layer: "|", spec: "|"},
		{name: "root with maps", info: infoRoot, opts: Options{UIDMap: idmaps("0:100000:65536"), GIDMap: idmaps("0:200000:10")},
			layer: "0:100000:65536|0:200000:10", spec: "0:100000:65536|0:200000:10"},
		{name: "root forced rootless", info: infoRoot, opts: Options{Rootless: true}, rootless: true,
			layer: "0:0:1|0:0:1", spec: "0:0:1|0:0:1"},
		{name: "unprivileged: umoci's rule", info: infoNobody, rootless: true, layer: "0:1000:1|0:1001:1", spec: "0:1000:1|0:1001:1"},
		{name: "unprivileged with maps for a runtime using subordinate ids", info: infoNobody, rootless: true,
			opts:  Options{UIDMap: idmaps("0:1000:1,1:100000:65536"), GIDMap: idmaps("0:1001:1,1:100000:65536")},
			layer: "0:1000:1|0:1001:1", spec: "0:1000:1,1:100000:65536|0:1001:1,1:100000:65536"},
		{name: "unprivileged with a map that loses the caller", info: infoNobody,
			opts: Options{UIDMap: idmaps("0:100000:65536")}, wantErrStr: "map container id 0 to 1000"},
		{name: "root of a user namespace: its own ids", info: infoNSRoot, rootless: true,
			layer: "0:0:1,1:1:65536|0:0:1", spec: "0:0:1,1:1:65536|0:0:1"},
		{name: "root of a user namespace with maps", info: infoNSRoot, opts: Options{UIDMap: idmaps("0:5:10")}, rootless: true,
			layer: "0:5:10|0:0:1", spec: "0:5:10|0:0:1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			own, err := decideOwnership(&tc.opts, tc.info)
			if tc.wantErrStr != "" {
				if !errors.Is(err, ErrInvalidOptions) || !strings.Contains(err.Error(), tc.wantErrStr) {
					t.Fatalf("got %v, want ErrInvalidOptions with %q", err, tc.wantErrStr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if own.rootless != tc.rootless || own.forced != tc.opts.Rootless {
				t.Errorf("rootless %v forced %v, want %v %v", own.rootless, own.forced, tc.rootless, tc.opts.Rootless)
			}
			if got := formatMaps(own.layerUIDs) + "|" + formatMaps(own.layerGIDs); got != tc.layer {
				t.Errorf("layer maps %s, want %s", got, tc.layer)
			}
			if got := formatMaps(own.specUIDs) + "|" + formatMaps(own.specGIDs); got != tc.spec {
				t.Errorf("config.json maps %s, want %s", got, tc.spec)
			}
		})
	}
}

// TestModeFollowsDetect: Unpack asks userns.Detect (through the seam) and
// nothing else: a fake "unprivileged" answer makes even root unpack
// rootless, logged with Detect's reason; a failed detection stops the
// unpack before anything is written.
func TestModeFollowsDetect(t *testing.T) {
	real := detectPrivilege
	t.Cleanup(func() { detectPrivilege = real })
	layout := smallImage(t, nil)

	detectPrivilege = func() (userns.Info, error) { return infoNobody, nil }
	var logs bytes.Buffer
	opts := Options{Platform: "linux/amd64", Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelInfo}))}
	bundle := filepath.Join(t.TempDir(), "bundle")
	// As root every file can be given to "container root", uid 1000 here;
	// an ordinary user other than 1000 cannot chown to it, and the
	// kernel's refusal is recorded instead: either way it succeeds.
	rec, err := Unpack(t.Context(), Reference{Layout: layout}, bundle, opts)
	if err != nil {
		t.Fatalf("Unpack: %v", err)
	}
	if !rec.Options.Rootless || rec.Options.Privilege != "unprivileged" {
		t.Errorf("record options %+v: want rootless, unprivileged", rec.Options)
	}
	var spec specs.Spec
	readJSONFile(t, filepath.Join(bundle, "config.json"), &spec)
	checkRootlessSpec(t, &spec, specs.LinuxIDMapping{ContainerID: 0, HostID: 1000, Size: 1},
		specs.LinuxIDMapping{ContainerID: 0, HostID: 1001, Size: 1})
	line := fmt.Sprintf("reason=%q", infoNobody.Reason())
	if n := strings.Count(logs.String(), "rootless unpack"); n != 1 || !strings.Contains(logs.String(), line) {
		t.Errorf("log:\n%s\nwant one rootless line with %s", logs.String(), line)
	}

	detectPrivilege = func() (userns.Info, error) { return userns.Info{}, procfs.ErrUnsafeProcfs }
	parent := t.TempDir()
	_, err = Unpack(t.Context(), Reference{Layout: layout}, filepath.Join(parent, "bundle"), opts)
	if !errors.Is(err, procfs.ErrUnsafeProcfs) {
		t.Errorf("Unpack with a failed detection: got %v, want ErrUnsafeProcfs", err)
	}
	assertNoLeftovers(t, parent)
}

func TestParseIDMap(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want layer.IDMap
		bad  bool
	}{
		{in: "0:100000:65536", want: layer.IDMap{ContainerID: 0, HostID: 100000, Size: 65536}},
		{in: "1000:1000:1", want: layer.IDMap{ContainerID: 1000, HostID: 1000, Size: 1}},
		{in: "0:1000", bad: true},
		{in: "0:1000:1:2", bad: true},
		{in: "0:1000:0", bad: true},
		{in: "a:1:1", bad: true},
		{in: "-1:1:1", bad: true},
		{in: "+1:1:1", bad: true},
		{in: "0:4294967296:1", bad: true},
		{in: "", bad: true},
	} {
		got, err := ParseIDMap(tc.in)
		if tc.bad {
			if !errors.Is(err, ErrInvalidOptions) || !strings.Contains(err.Error(), fmt.Sprintf("%q", tc.in)) {
				t.Errorf("ParseIDMap(%q): got %v, want ErrInvalidOptions quoting it", tc.in, err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("ParseIDMap(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
		}
	}
	bad := []Options{
		{UIDMap: idmaps("0:100:10,5:200:10")},  // container ids overlap
		{GIDMap: idmaps("0:100:10,20:105:10")}, // host ids overlap
		{UIDMap: idmaps("4294967290:0:10")},    // container side overflows
		{UIDMap: make([]layer.IDMap, 341)},     // more ranges than a user namespace takes
	}
	for i, o := range bad {
		if err := o.validate(); !errors.Is(err, ErrInvalidOptions) {
			t.Errorf("case %d: validate = %v, want ErrInvalidOptions", i, err)
		}
	}
}

// TestRootlessSpecWarnsUnmappedUser: a rootless bundle whose process user
// the user namespace does not map gets a warning saying what to do.
func TestRootlessSpecWarnsUnmappedUser(t *testing.T) {
	own, err := decideOwnership(&Options{}, infoNobody)
	if err != nil {
		t.Fatal(err)
	}
	img := &v1.Image{Config: v1.ImageConfig{Cmd: []string{"/bin/true"}}}
	s, warns := runtimeSpec(img, execUser{UID: 1000, GID: 1000, AdditionalGids: []uint32{50}}, &Options{}, own)
	checkRootlessSpec(t, s, specs.LinuxIDMapping{ContainerID: 0, HostID: 1000, Size: 1},
		specs.LinuxIDMapping{ContainerID: 0, HostID: 1001, Size: 1})
	if len(warns) != 1 || !strings.Contains(warns[0], "not entirely mapped") || !strings.Contains(warns[0], "/etc/subuid") {
		t.Errorf("warnings %q: want one about the unmapped process user", warns)
	}
	if _, warns = runtimeSpec(img, execUser{}, &Options{}, own); len(warns) != 0 {
		t.Errorf("root process user: warnings %q, want none", warns)
	}
}
