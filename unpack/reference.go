package unpack

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/opencontainers/go-digest"
	v1 "github.com/opencontainers/image-spec/specs-go/v1"
)

// DefaultTag is the tag used when a [Reference] names neither a tag nor a
// digest and the layout has an image tagged with it.
const DefaultTag = "latest"

// Reference names an image in an OCI image layout: the layout directory
// and at most one of a tag (the org.opencontainers.image.ref.name
// annotation of an index.json descriptor) and a digest (of any manifest or
// index the layout's index.json reaches).
type Reference struct {
	// Layout is the path of the OCI image layout directory.
	Layout string
	// Tag selects by org.opencontainers.image.ref.name. Empty with an empty
	// Digest means [DefaultTag] when the layout has it, else the layout's
	// only image (after platform selection).
	Tag string
	// Digest selects a manifest or index by digest.
	Digest digest.Digest
}

// String formats r as ParseReference reads it.
func (r Reference) String() string {
	switch {
	case r.Digest != "":
		return r.Layout + "@" + r.Digest.String()
	case r.Tag != "":
		return r.Layout + ":" + r.Tag
	}
	return r.Layout
}

func (r Reference) validate() error {
	if r.Layout == "" {
		return fmt.Errorf("%w: empty layout path", ErrInvalidOptions)
	}
	if r.Tag != "" && r.Digest != "" {
		return fmt.Errorf("%w: reference %q has both a tag and a digest", ErrInvalidOptions, r.String())
	}
	if r.Digest != "" {
		if err := r.Digest.Validate(); err != nil {
			return fmt.Errorf("%w: digest %q: %w", ErrInvalidOptions, r.Digest, err)
		}
	}
	if strings.ContainsAny(r.Tag, "\x00\n") {
		return fmt.Errorf("%w: tag %q has a control character", ErrInvalidOptions, r.Tag)
	}
	return nil
}

// ParseReference parses umoci's image syntax LAYOUT[:TAG|@DIGEST].
//
// A path may itself contain ':' or '@', so the split is decided as follows:
//
//  1. If the text after the last '@' is a well-formed digest
//     ("sha256:<64 hex>"), it is the digest and the text before it the
//     layout. Text after '@' that starts with a registered algorithm and a
//     ':' but is malformed is an error.
//  2. Otherwise the layout is the shortest prefix ending before a ':' that is
//     an existing directory holding an oci-layout file, and the rest is the
//     tag (so a tag may contain ':' and '/', as ref.name values like
//     "example.com/app:1.0" do).
//  3. Otherwise, if the whole text is an existing directory, it is the
//     layout with no tag.
//  4. Otherwise (nothing exists yet, so the error will name it) the text is
//     split at the last ':' when what follows has no '/'.
//
// An empty tag ("layout:") is an error. ParseReference only stats paths; it
// does not open them. Errors wrap [ErrInvalidOptions].
func ParseReference(s string) (Reference, error) {
	if s == "" {
		return Reference{}, fmt.Errorf("%w: empty image reference", ErrInvalidOptions)
	}
	if i := strings.LastIndex(s, "@"); i >= 0 {
		rest := s[i+1:]
		if d, err := digest.Parse(rest); err == nil {
			ref := Reference{Layout: s[:i], Digest: d}
			return ref, ref.validate()
		}
		if alg, _, ok := strings.Cut(rest, ":"); ok && digest.Algorithm(alg).Available() {
			return Reference{}, fmt.Errorf("%w: malformed digest %q in %q", ErrInvalidOptions, rest, s)
		}
	}
	ref, found := splitTag(s)
	if found && ref.Tag == "" {
		return Reference{}, fmt.Errorf("%w: empty tag in %q", ErrInvalidOptions, s)
	}
	if !found {
		ref = Reference{Layout: s}
		if !isDir(s) {
			if i := strings.LastIndex(s, ":"); i >= 0 && !strings.Contains(s[i+1:], "/") {
				ref = Reference{Layout: s[:i], Tag: s[i+1:]}
				if ref.Tag == "" {
					return Reference{}, fmt.Errorf("%w: empty tag in %q", ErrInvalidOptions, s)
				}
			}
		}
	}
	return ref, ref.validate()
}

// splitTag finds the shortest prefix before a ':' that is a layout.
func splitTag(s string) (Reference, bool) {
	for i := 0; i < len(s); i++ {
		if s[i] != ':' || i == 0 {
			continue
		}
		if isLayoutDir(s[:i]) {
			return Reference{Layout: s[:i], Tag: s[i+1:]}, true
		}
	}
	return Reference{}, false
}

func isDir(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.IsDir()
}

func isLayoutDir(p string) bool {
	st, err := os.Stat(filepath.Join(p, v1.ImageLayoutFile))
	return err == nil && st.Mode().IsRegular()
}
