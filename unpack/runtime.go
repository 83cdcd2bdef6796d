package unpack

import (
	"fmt"
	"path"
	"slices"
	"sort"
	"strings"
	"time"

	v1 "github.com/opencontainers/image-spec/specs-go/v1"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/safeunpack/safeunpack/layer"
)

// Implicit annotations of image-spec conversion.md.
const (
	annotationOS           = "org.opencontainers.image.os"
	annotationArchitecture = "org.opencontainers.image.architecture"
	annotationVariant      = "org.opencontainers.image.variant"
	annotationOSVersion    = "org.opencontainers.image.os.version"
	annotationOSFeatures   = "org.opencontainers.image.os.features"
	annotationAuthor       = "org.opencontainers.image.author"
	annotationStopSignal   = "org.opencontainers.image.stopSignal"
	annotationExposedPorts = "org.opencontainers.image.exposedPorts"
)

// runtimeSpecVersion is the ociVersion written to config.json: the oldest
// runtime-spec release with every field this package writes. Runtimes
// check it: crun 1.8 (Debian 12) refuses 1.2.0 and later with "unknown
// version specified", so the version of the Go types (specs.Version) is
// not used.
const runtimeSpecVersion = "1.0.2"

// defaultPath is the PATH given to a process whose image sets none, as
// Docker and containerd do.
const defaultPath = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// defaultCapabilities is Docker's and containerd's default bounding set
// (moby: oci/caps/defaults.go), the set image authors expect their images to
// run with. A root process gets it as effective and permitted; a non-root
// process only as bounding, with empty effective and permitted sets, as
// Docker does since 20.10. The inheritable set is always empty
// (CVE-2022-24769).
var defaultCapabilities = []string{
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD",
	"CAP_NET_RAW", "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP",
	"CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
}

// unsafeAnnotationPrefixes are annotation namespaces that runtimes act on
// with host effects: crun's run.oci.* (hooks' output files, keeping the
// host's groups, cgroup delegation, handlers such as wasm), runc's CRIU
// configuration file, and those CRI implementations trust. Image-spec
// conversion.md lets a converter leave such annotations out with feedback
// to the user; safeunpack drops them with a warning.
var unsafeAnnotationPrefixes = []string{
	"run.oci.", "org.criu.", "io.kubernetes.", "io.containerd.", "module.wasm.image/", "io.podman.",
}

// runtimeSpec converts the image config to a runtime-spec config.json as
// image-spec conversion.md describes, with the defaults of `runc spec`
// (namespaces, mounts, masked and read-only paths, device cgroup) that a
// runtime needs, a writable rootfs and no terminal, and the user namespace
// the ownership decision calls for (addUserNamespace). It returns the spec
// and warnings about what was left out.
func runtimeSpec(img *v1.Image, user execUser, opts *Options, own *ownership) (*specs.Spec, []string) {
	var warnings []string
	cfg := img.Config
	args := append(slices.Clone(cfg.Entrypoint), cfg.Cmd...)
	if len(args) == 0 {
		warnings = append(warnings, "the image has no Entrypoint or Cmd: config.json has no process.args; set them before running the bundle")
	}
	env, envWarnings := processEnv(cfg.Env, user.Home)
	warnings = append(warnings, envWarnings...)
	if len(cfg.Volumes) > 0 {
		warnings = append(warnings, "the image declares volumes "+strings.Join(sortedKeys(cfg.Volumes), ", ")+
			": config.json mounts nothing there; they are part of the rootfs")
	}
	caps := &specs.LinuxCapabilities{Bounding: slices.Clone(defaultCapabilities)}
	if user.UID == 0 {
		caps.Effective = slices.Clone(defaultCapabilities)
		caps.Permitted = slices.Clone(defaultCapabilities)
	}
	annotations, dropped := runtimeAnnotations(img)
	if len(dropped) > 0 {
		warnings = append(warnings, "annotations that runtimes act on were left out of config.json: "+strings.Join(dropped, ", "))
	}
	s := &specs.Spec{
		Version: runtimeSpecVersion,
		Process: &specs.Process{
			Terminal: false,
			User: specs.User{
				UID:            user.UID,
				GID:            user.GID,
				AdditionalGids: user.AdditionalGids,
			},
			Args:            args,
			Env:             env,
			Cwd:             workingDir(cfg.WorkingDir),
			Capabilities:    caps,
			Rlimits:         []specs.POSIXRlimit{{Type: "RLIMIT_NOFILE", Hard: 1024, Soft: 1024}},
			NoNewPrivileges: true,
		},
		Root:        &specs.Root{Path: "rootfs", Readonly: false},
		Hostname:    opts.hostname(),
		Mounts:      defaultMounts(),
		Annotations: annotations,
		Linux: &specs.Linux{
			Namespaces: []specs.LinuxNamespace{
				{Type: specs.PIDNamespace},
				{Type: specs.NetworkNamespace},
				{Type: specs.IPCNamespace},
				{Type: specs.UTSNamespace},
				{Type: specs.MountNamespace},
				{Type: specs.CgroupNamespace},
			},
			Resources: &specs.LinuxResources{
				Devices: []specs.LinuxDeviceCgroup{{Allow: false, Access: "rwm"}},
			},
			MaskedPaths: []string{
				"/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
				"/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi",
				"/sys/firmware", "/sys/devices/virtual/powercap",
			},
			ReadonlyPaths: []string{
				"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger",
			},
		},
	}
	if own.rootless || len(own.specUIDs) > 0 || len(own.specGIDs) > 0 {
		warnings = append(warnings, addUserNamespace(s, own)...)
	}
	return s, warnings
}

// workingDir returns an absolute, clean cwd; a relative WorkingDir is taken
// from "/" as Docker does.
func workingDir(wd string) string {
	if wd == "" {
		return "/"
	}
	return path.Clean("/" + wd)
}

// processEnv returns the image's environment plus PATH and HOME when it
// lacks them (conversion.md lets a converter add variables it does not
// define). Entries without '=' are dropped with a warning.
func processEnv(imageEnv []string, home string) ([]string, []string) {
	var env, warnings []string
	has := map[string]bool{}
	for _, e := range imageEnv {
		k, _, ok := strings.Cut(e, "=")
		if !ok || k == "" || strings.ContainsRune(e, 0) {
			warnings = append(warnings, "image environment entry "+quoteShort(e)+" is not KEY=value: left out")
			continue
		}
		has[k] = true
		env = append(env, e)
	}
	if !has["PATH"] {
		env = append(env, defaultPath)
	}
	if !has["HOME"] {
		env = append(env, "HOME="+home)
	}
	return env, warnings
}

func quoteShort(s string) string {
	if len(s) > 64 {
		s = s[:64] + "..."
	}
	return "\"" + strings.ToValidUTF8(strings.ReplaceAll(s, "\n", `\n`), "?") + "\""
}

// runtimeAnnotations returns the implicit annotations of conversion.md and
// the config's Labels (which win over implicit ones), minus those in
// unsafeAnnotationPrefixes, whose keys are returned as dropped.
func runtimeAnnotations(img *v1.Image) (map[string]string, []string) {
	a := map[string]string{}
	set := func(k, v string) {
		if v != "" {
			a[k] = v
		}
	}
	set(annotationOS, img.OS)
	set(annotationArchitecture, img.Architecture)
	set(annotationVariant, img.Variant)
	set(annotationOSVersion, img.OSVersion)
	set(annotationOSFeatures, strings.Join(img.OSFeatures, ","))
	set(annotationAuthor, img.Author)
	if img.Created != nil {
		set(v1.AnnotationCreated, img.Created.UTC().Format(time.RFC3339Nano))
	}
	set(annotationStopSignal, img.Config.StopSignal)
	set(annotationExposedPorts, strings.Join(sortedKeys(img.Config.ExposedPorts), ","))
	for k, v := range img.Config.Labels {
		a[k] = v
	}
	var dropped []string
	for k := range a {
		for _, p := range unsafeAnnotationPrefixes {
			if strings.HasPrefix(k, p) {
				dropped = append(dropped, k)
				delete(a, k)
				break
			}
		}
	}
	sort.Strings(dropped)
	if len(a) == 0 {
		return nil, dropped
	}
	return a, dropped
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// defaultMounts are the mounts of `runc spec` and `crun spec`.
func defaultMounts() []specs.Mount {
	return []specs.Mount{
		{Destination: "/proc", Type: "proc", Source: "proc"},
		{Destination: "/dev", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "strictatime", "mode=755", "size=65536k"}},
		{Destination: "/dev/pts", Type: "devpts", Source: "devpts", Options: []string{"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}},
		{Destination: "/dev/shm", Type: "tmpfs", Source: "shm", Options: []string{"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}},
		{Destination: "/dev/mqueue", Type: "mqueue", Source: "mqueue", Options: []string{"nosuid", "noexec", "nodev"}},
		{Destination: "/sys", Type: "sysfs", Source: "sysfs", Options: []string{"nosuid", "noexec", "nodev", "ro"}},
		{Destination: "/sys/fs/cgroup", Type: "cgroup", Source: "cgroup", Options: []string{"nosuid", "noexec", "nodev", "relatime", "ro"}},
	}
}

// addUserNamespace adds a user namespace with the decided mappings and
// returns warnings. For a rootless bundle it makes the changes
// `runc spec --rootless` makes (runc's specconv.ToRootless) and crun's
// rootless mode expects, so that nothing in config.json needs privilege:
// no network namespace (an unprivileged user cannot configure one; the
// container shares the host's network) and no cgroup namespace, no cgroup
// resources (an unprivileged user cannot write cgroups without delegation),
// no mounts under /sys (the cgroup mount) and /sys bind-mounted read-only
// from the host instead of a new sysfs (mounting sysfs needs a network
// namespace of one's own), and no uid= or gid= options (devpts' gid=5 names
// a group the namespace may not map). With --uid-map on a privileged
// unpack only the devpts gid=5 option is dropped, when gid 5 is unmapped.
func addUserNamespace(s *specs.Spec, own *ownership) []string {
	uids, gids := toSpecMaps(own.specUIDs), toSpecMaps(own.specGIDs)
	s.Linux.UIDMappings, s.Linux.GIDMappings = uids, gids
	s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.UserNamespace})
	gid5Mapped := mapped(own.specGIDs, 5)
	var mounts []specs.Mount
	for _, m := range s.Mounts {
		switch {
		case own.rootless && strings.HasPrefix(m.Destination, "/sys"):
			continue
		case own.rootless:
			m.Options = slices.DeleteFunc(slices.Clone(m.Options), func(o string) bool {
				return strings.HasPrefix(o, "gid=") || strings.HasPrefix(o, "uid=")
			})
		case m.Type == "devpts" && !gid5Mapped:
			m.Options = slices.DeleteFunc(slices.Clone(m.Options), func(o string) bool { return strings.HasPrefix(o, "gid=") })
		}
		mounts = append(mounts, m)
	}
	if own.rootless {
		mounts = append(mounts, specs.Mount{Destination: "/sys", Type: "none", Source: "/sys",
			Options: []string{"rbind", "nosuid", "noexec", "nodev", "ro"}})
	}
	s.Mounts = mounts
	if own.rootless {
		s.Linux.Namespaces = slices.DeleteFunc(s.Linux.Namespaces, func(n specs.LinuxNamespace) bool {
			return n.Type == specs.NetworkNamespace || n.Type == specs.CgroupNamespace
		})
		s.Linux.Resources = nil
	}
	var warnings []string
	u := s.Process.User
	if !mapped(own.specUIDs, u.UID) || !mapped(own.specGIDs, u.GID) || !mapped(own.specGIDs, u.AdditionalGids...) {
		warnings = append(warnings, fmt.Sprintf("the process user %d:%d (groups %v) is not entirely mapped by the "+
			"user namespace (uid map %s, gid map %s): a runtime will refuse to start it; map those ids with "+
			"--uid-map and --gid-map (as root, or in a rootless runtime with subordinate ids from /etc/subuid and "+
			"/etc/subgid) or change process.user", u.UID, u.GID, u.AdditionalGids, formatMaps(own.specUIDs),
			formatMaps(own.specGIDs)))
	}
	return warnings
}

// formatMaps renders maps as "C:H:S,..." (umoci's --uid-map syntax).
func formatMaps(maps []layer.IDMap) string {
	parts := make([]string, 0, len(maps))
	for _, m := range maps {
		parts = append(parts, fmt.Sprintf("%d:%d:%d", m.ContainerID, m.HostID, m.Size))
	}
	return strings.Join(parts, ",")
}

func toSpecMaps(maps []layer.IDMap) []specs.LinuxIDMapping {
	var out []specs.LinuxIDMapping
	for _, m := range maps {
		out = append(out, specs.LinuxIDMapping{ContainerID: m.ContainerID, HostID: m.HostID, Size: m.Size})
	}
	return out
}
