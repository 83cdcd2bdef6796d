package unpack

import (
	"slices"
	"strings"
	"testing"

	v1 "github.com/opencontainers/image-spec/specs-go/v1"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/safeunpack/safeunpack/internal/userns"
	"github.com/safeunpack/safeunpack/layer"
)

func TestRuntimeSpec(t *testing.T) {
	img := &v1.Image{
		Platform: v1.Platform{OS: "linux", Architecture: "arm", Variant: "v7"},
		Author:   "someone",
		Config: v1.ImageConfig{
			Entrypoint:   []string{"/bin/app", "--flag"},
			Cmd:          []string{"arg"},
			Env:          []string{"A=1", "broken", "HOME=/custom"},
			WorkingDir:   "srv/../srv/app",
			ExposedPorts: map[string]struct{}{"80/tcp": {}, "53/udp": {}},
			StopSignal:   "SIGQUIT",
			Volumes:      map[string]struct{}{"/data": {}},
			Labels: map[string]string{
				"org.opencontainers.image.os":  "label-wins",
				"run.oci.keep_original_groups": "1",
				"run.oci.hooks.stdout":         "/etc/host-file",
				"org.criu.config":              "/tmp/x",
				"com.example.ok":               "yes",
			},
		},
	}
	s, warns := runtimeSpec(img, execUser{UID: 1000, GID: 1000, AdditionalGids: []uint32{1000, 50}, Home: "/home/u"}, &Options{}, &ownership{})
	p := s.Process
	if want := []string{"/bin/app", "--flag", "arg"}; !slices.Equal(p.Args, want) {
		t.Errorf("args = %q, want %q", p.Args, want)
	}
	if p.Cwd != "/srv/app" {
		t.Errorf("cwd = %q, want /srv/app", p.Cwd)
	}
	if want := []string{"A=1", "HOME=/custom", defaultPath}; !slices.Equal(p.Env, want) {
		t.Errorf("env = %q, want %q", p.Env, want)
	}
	if p.Terminal || !p.NoNewPrivileges || s.Root.Readonly || s.Root.Path != "rootfs" || s.Hostname != DefaultHostname {
		t.Errorf("terminal %v, noNewPrivileges %v, root %+v, hostname %q", p.Terminal, p.NoNewPrivileges, s.Root, s.Hostname)
	}
	if p.User.UID != 1000 || p.User.GID != 1000 || !slices.Equal(p.User.AdditionalGids, []uint32{1000, 50}) {
		t.Errorf("user = %+v", p.User)
	}
	if len(p.Capabilities.Effective) != 0 || len(p.Capabilities.Permitted) != 0 || len(p.Capabilities.Inheritable) != 0 ||
		!slices.Contains(p.Capabilities.Bounding, "CAP_CHOWN") {
		t.Errorf("non-root capabilities = %+v", p.Capabilities)
	}
	wantAnn := map[string]string{
		"org.opencontainers.image.os":           "label-wins",
		"org.opencontainers.image.architecture": "arm",
		"org.opencontainers.image.variant":      "v7",
		"org.opencontainers.image.author":       "someone",
		"org.opencontainers.image.stopSignal":   "SIGQUIT",
		"org.opencontainers.image.exposedPorts": "53/udp,80/tcp",
		"com.example.ok":                        "yes",
	}
	for k, v := range wantAnn {
		if s.Annotations[k] != v {
			t.Errorf("annotation %s = %q, want %q", k, s.Annotations[k], v)
		}
	}
	for k := range s.Annotations {
		if strings.HasPrefix(k, "run.oci.") || strings.HasPrefix(k, "org.criu.") {
			t.Errorf("unsafe annotation %s was kept", k)
		}
	}
	joined := strings.Join(warns, "\n")
	for _, w := range []string{"broken", "/data", "run.oci.hooks.stdout", "org.criu.config"} {
		if !strings.Contains(joined, w) {
			t.Errorf("warnings %q do not mention %q", warns, w)
		}
	}
	var types []string
	for _, m := range s.Mounts {
		types = append(types, m.Destination)
	}
	for _, d := range []string{"/proc", "/dev", "/dev/pts", "/dev/shm", "/dev/mqueue", "/sys", "/sys/fs/cgroup"} {
		if !slices.Contains(types, d) {
			t.Errorf("mount %s missing from %q", d, types)
		}
	}
	for _, ns := range []specs.LinuxNamespaceType{specs.PIDNamespace, specs.NetworkNamespace, specs.IPCNamespace, specs.UTSNamespace, specs.MountNamespace} {
		if !slices.ContainsFunc(s.Linux.Namespaces, func(n specs.LinuxNamespace) bool { return n.Type == ns }) {
			t.Errorf("namespace %s missing", ns)
		}
	}
	if slices.ContainsFunc(s.Linux.Namespaces, func(n specs.LinuxNamespace) bool { return n.Type == specs.UserNamespace }) {
		t.Error("user namespace without mappings")
	}
}

func TestRuntimeSpecRootAndEmpty(t *testing.T) {
	s, warns := runtimeSpec(&v1.Image{}, execUser{Home: "/"}, &Options{Hostname: "box"}, &ownership{})
	if len(s.Process.Capabilities.Effective) == 0 || !slices.Equal(s.Process.Capabilities.Effective, s.Process.Capabilities.Permitted) {
		t.Errorf("root capabilities = %+v", s.Process.Capabilities)
	}
	if s.Process.Cwd != "/" || s.Hostname != "box" || !slices.Contains(s.Process.Env, "HOME=/") {
		t.Errorf("cwd %q hostname %q env %q", s.Process.Cwd, s.Hostname, s.Process.Env)
	}
	if len(s.Process.Args) != 0 || len(warns) != 1 || !strings.Contains(warns[0], "Entrypoint") {
		t.Errorf("args %q warnings %q: want none and one warning about Entrypoint", s.Process.Args, warns)
	}
}

func TestRuntimeSpecUserNamespace(t *testing.T) {
	opts := &Options{
		UIDMap: []layer.IDMap{{ContainerID: 0, HostID: 100000, Size: 65536}},
		GIDMap: []layer.IDMap{{ContainerID: 0, HostID: 100000, Size: 65536}},
	}
	own, err := decideOwnership(opts, userns.Info{Mode: userns.InitialRoot})
	if err != nil {
		t.Fatal(err)
	}
	img := &v1.Image{Config: v1.ImageConfig{Cmd: []string{"/bin/true"}}}
	s, warns := runtimeSpec(img, execUser{}, opts, own)
	if len(s.Linux.UIDMappings) != 1 || s.Linux.UIDMappings[0].HostID != 100000 || len(s.Linux.GIDMappings) != 1 {
		t.Errorf("mappings = %+v %+v", s.Linux.UIDMappings, s.Linux.GIDMappings)
	}
	if !slices.ContainsFunc(s.Linux.Namespaces, func(n specs.LinuxNamespace) bool { return n.Type == specs.UserNamespace }) {
		t.Error("no user namespace")
	}
	if s.Linux.Resources == nil || !slices.ContainsFunc(s.Mounts, func(m specs.Mount) bool { return m.Type == "sysfs" }) ||
		!slices.ContainsFunc(s.Linux.Namespaces, func(n specs.LinuxNamespace) bool { return n.Type == specs.NetworkNamespace }) {
		t.Errorf("a privileged bundle with --uid-map lost its resources, sysfs or network namespace: %+v", s.Linux)
	}
	if len(warns) != 0 {
		t.Errorf("warnings %q, want none (root is mapped)", warns)
	}
}

func TestOptionsValidate(t *testing.T) {
	bad := []Options{
		{Platform: "linux"},
		{UIDMap: []layer.IDMap{{ContainerID: 0, HostID: 1, Size: 0}}},
		{UIDMap: []layer.IDMap{{ContainerID: 1<<32 - 1, HostID: 1, Size: 2}}},
		{GIDMap: []layer.IDMap{{ContainerID: 0, HostID: 1, Size: 10}, {ContainerID: 5, HostID: 100, Size: 10}}},
		{Hostname: "bad/name"},
		{Hostname: strings.Repeat("a", 65)},
		{Limits: layer.Limits{MaxBytes: -1}},
	}
	for i, o := range bad {
		if err := o.validate(); err == nil {
			t.Errorf("case %d: validate(%+v) = nil, want an error", i, o)
		}
	}
	good := Options{Platform: "linux/arm64", Hostname: "a-b.c",
		UIDMap: []layer.IDMap{{ContainerID: 0, HostID: 1000, Size: 1}, {ContainerID: 1, HostID: 100000, Size: 65535}}}
	if err := good.validate(); err != nil {
		t.Errorf("validate(%+v) = %v", good, err)
	}
}
