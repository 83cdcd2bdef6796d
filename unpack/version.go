package unpack

import "runtime/debug"

// modulePath is this module's import path, looked up in the build info.
const modulePath = "github.com/safeunpack/safeunpack"

// Version reports the version of safeunpack compiled into the running
// program: the module version from the build info (a tag, or a pseudo
// version derived from the VCS revision since Go 1.24, with "+dirty" for
// uncommitted changes), or "(devel)" when the build recorded none (go
// build -buildvcs=false). It is
// written to safeunpack.json and printed by --version.
func Version() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "(unknown)"
	}
	if bi.Main.Path == modulePath && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	if bi.Main.Path == modulePath {
		// Built with -buildvcs=false or outside a checkout: the revision,
		// when recorded, still identifies the build.
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				return "(devel) " + s.Value[:12]
			}
		}
		return "(devel)"
	}
	for _, dep := range bi.Deps {
		if dep.Path == modulePath {
			return dep.Version
		}
	}
	return "(devel)"
}
