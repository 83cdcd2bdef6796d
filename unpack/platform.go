package unpack

import (
	"fmt"
	"runtime"
	"strings"

	v1 "github.com/opencontainers/image-spec/specs-go/v1"
)

// Platform names an operating system, CPU architecture and optional variant,
// as written in image indexes (image-spec image-index.md).
type Platform struct {
	OS           string
	Architecture string
	Variant      string
}

// String formats p as "os/arch" or "os/arch/variant".
func (p Platform) String() string {
	s := p.OS + "/" + p.Architecture
	if p.Variant != "" {
		s += "/" + p.Variant
	}
	return s
}

// HostPlatform is the platform this program runs on: runtime.GOOS and
// runtime.GOARCH, with the variant that containerd assumes by default ("v7"
// for arm; none for the others).
func HostPlatform() Platform {
	return normalizePlatform(Platform{OS: runtime.GOOS, Architecture: runtime.GOARCH})
}

// ParsePlatform parses "os/arch" or "os/arch/variant". Common aliases are
// normalized the way containerd's platforms package does (x86_64 is amd64,
// aarch64 is arm64, armhf is arm/v7, arm alone is arm/v7, arm64/v8 is
// arm64). An
// empty component or more than three components is an error wrapping
// [ErrInvalidOptions].
func ParsePlatform(s string) (Platform, error) {
	parts := strings.Split(s, "/")
	if len(parts) < 2 || len(parts) > 3 {
		return Platform{}, fmt.Errorf("%w: platform %q is not os/arch[/variant]", ErrInvalidOptions, s)
	}
	for _, p := range parts {
		if p == "" || strings.TrimSpace(p) != p {
			return Platform{}, fmt.Errorf("%w: platform %q has an empty or padded component", ErrInvalidOptions, s)
		}
	}
	p := Platform{OS: parts[0], Architecture: parts[1]}
	if len(parts) == 3 {
		p.Variant = parts[2]
	}
	return normalizePlatform(p), nil
}

func normalizePlatform(p Platform) Platform {
	p.OS = strings.ToLower(p.OS)
	p.Architecture = strings.ToLower(p.Architecture)
	p.Variant = strings.ToLower(p.Variant)
	switch p.Architecture {
	case "x86_64", "x86-64":
		p.Architecture = "amd64"
	case "aarch64":
		p.Architecture = "arm64"
	case "i386", "i686":
		p.Architecture = "386"
	case "armhf":
		p.Architecture, p.Variant = "arm", "v7"
	case "armel":
		p.Architecture, p.Variant = "arm", "v6"
	}
	switch p.Architecture {
	case "arm64":
		if p.Variant == "8" || p.Variant == "v8" {
			p.Variant = ""
		}
	case "arm":
		switch p.Variant {
		case "":
			p.Variant = "v7"
		case "5", "6", "7", "8":
			p.Variant = "v" + p.Variant
		}
	case "amd64":
		if p.Variant == "v1" {
			p.Variant = ""
		}
	}
	return p
}

func platformOf(p *v1.Platform) (Platform, bool) {
	if p == nil {
		return Platform{}, false
	}
	return normalizePlatform(Platform{OS: p.OS, Architecture: p.Architecture, Variant: p.Variant}), true
}

// platformScore says how well have matches want: 0 means no match; higher
// is better. An exact variant match is best; for arm a lower variant also
// runs (v7 runs v6 and v5), ranked below the exact one.
func platformScore(want, have Platform) int {
	if want.OS != have.OS || want.Architecture != have.Architecture {
		return 0
	}
	if want.Variant == have.Variant {
		return 10
	}
	if want.Architecture == "arm" && len(want.Variant) == 2 && len(have.Variant) == 2 &&
		want.Variant[0] == 'v' && have.Variant[0] == 'v' && have.Variant[1] < want.Variant[1] && have.Variant[1] >= '5' {
		return 1 + int(have.Variant[1]-'0')
	}
	if want.Architecture == "amd64" && want.Variant == "" {
		// amd64/v2, v3 images when no variant was asked for.
		return 1
	}
	return 0
}
