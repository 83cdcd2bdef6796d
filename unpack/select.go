package unpack

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/opencontainers/go-digest"
	v1 "github.com/opencontainers/image-spec/specs-go/v1"
)

// maxIndexDepth bounds how deep image indexes may nest. Real layouts use one
// level (index.json -> manifest) or two (index.json -> index -> manifests);
// content addressing rules out cycles, so the bound only limits work.
const maxIndexDepth = 8

// maxListed caps how many tags or platforms an error message lists.
const maxListed = 20

// leaf is a manifest reachable from index.json.
type leaf struct {
	// top is the index.json descriptor the manifest was reached from; its
	// digest is what users call the image digest.
	top v1.Descriptor
	// desc is the manifest's descriptor.
	desc v1.Descriptor
	// platform, when known from a descriptor.
	platform Platform
	known    bool
}

// selection is the outcome of resolving a reference.
type selection struct {
	leaf
	manifest *v1.Manifest
	config   *v1.Image
	platform Platform
	warnings []string
}

// tagOf returns a descriptor's org.opencontainers.image.ref.name.
func tagOf(d v1.Descriptor) string { return d.Annotations[v1.AnnotationRefName] }

// isAttestation reports BuildKit's attestation manifests, which index
// platform "unknown/unknown" and hold no filesystem.
func isAttestation(d v1.Descriptor) bool {
	return d.Annotations["vnd.docker.reference.type"] == "attestation-manifest" ||
		d.Platform != nil && d.Platform.OS == "unknown" && d.Platform.Architecture == "unknown"
}

// selectImage resolves ref (whose Layout is l) to one manifest for want.
// explicit says whether the caller asked for that platform or it is the
// host's default.
func (l *layout) selectImage(ctx context.Context, ref Reference, want Platform, explicit bool) (*selection, error) {
	tops, err := l.candidates(ctx, ref)
	if err != nil {
		return nil, err
	}
	var leaves []leaf
	for _, top := range tops {
		if err := l.expand(ctx, top, top, 0, &leaves); err != nil {
			return nil, err
		}
	}
	if len(leaves) == 0 {
		return nil, fmt.Errorf("%w: %s holds no image manifest (only %s)", ErrUnsupportedMediaType, ref, mediaTypesOf(tops))
	}
	chosen, err := l.pickPlatform(ctx, ref, leaves, want, explicit)
	if err != nil {
		return nil, err
	}
	sel := &selection{leaf: chosen}
	if sel.manifest, err = l.readManifest(ctx, chosen.desc); err != nil {
		return nil, err
	}
	if sel.config, err = l.readConfig(ctx, sel.manifest); err != nil {
		return nil, err
	}
	sel.platform = normalizePlatform(Platform{OS: sel.config.OS, Architecture: sel.config.Architecture, Variant: sel.config.Variant})
	if chosen.known && (sel.platform.OS != chosen.platform.OS || sel.platform.Architecture != chosen.platform.Architecture) {
		return nil, fmt.Errorf("%w: manifest %s is indexed as %s but its config says %s", ErrInvalidLayout, chosen.desc.Digest, chosen.platform, sel.platform)
	}
	if platformScore(want, sel.platform) == 0 {
		if explicit {
			return nil, fmt.Errorf("%w: %s is for %s, not %s", ErrNotFound, ref, sel.platform, want)
		}
		sel.warnings = append(sel.warnings, fmt.Sprintf("image %s is for %s; this host is %s", ref, sel.platform, want))
	}
	return sel, nil
}

// candidates returns the index.json descriptors that ref selects.
func (l *layout) candidates(ctx context.Context, ref Reference) ([]v1.Descriptor, error) {
	var out []v1.Descriptor
	switch {
	case ref.Digest != "":
		for _, d := range l.index.Manifests {
			if d.Digest == ref.Digest {
				return []v1.Descriptor{d}, nil
			}
		}
		// The digest of a manifest inside a nested index.
		for _, top := range l.index.Manifests {
			if kindOf(top.MediaType) != kindIndex {
				continue
			}
			var found []leaf
			if err := l.findDigest(ctx, top, top, ref.Digest, 0, &found); err != nil {
				return nil, err
			}
			if len(found) > 0 {
				return []v1.Descriptor{found[0].desc}, nil
			}
		}
		return nil, fmt.Errorf("%w: digest %s is not in %s (%s)", ErrNotFound, ref.Digest, l.path, l.describe(ctx))
	case ref.Tag != "":
		for _, d := range l.index.Manifests {
			if tagOf(d) == ref.Tag {
				out = append(out, d)
			}
		}
		if len(out) == 0 {
			return nil, fmt.Errorf("%w: tag %q is not in %s (%s)", ErrNotFound, ref.Tag, l.path, l.describe(ctx))
		}
		return out, nil
	}
	for _, d := range l.index.Manifests {
		if tagOf(d) == DefaultTag {
			out = append(out, d)
		}
	}
	if len(out) == 0 {
		out = l.index.Manifests
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: %s/index.json lists no images", ErrNotFound, l.path)
	}
	return out, nil
}

// expand appends the manifests reachable from d to leaves.
func (l *layout) expand(ctx context.Context, top, d v1.Descriptor, depth int, leaves *[]leaf) error {
	if isAttestation(d) {
		return nil
	}
	switch kindOf(d.MediaType) {
	case kindManifest:
		lf := leaf{top: top, desc: d}
		lf.platform, lf.known = platformOf(d.Platform)
		*leaves = append(*leaves, lf)
	case kindIndex:
		if depth >= maxIndexDepth {
			return fmt.Errorf("%w: image indexes nest deeper than %d at %s", ErrInvalidLayout, maxIndexDepth, d.Digest)
		}
		idx, err := l.readIndex(ctx, d)
		if err != nil {
			return err
		}
		for _, c := range idx.Manifests {
			if err := l.expand(ctx, top, c, depth+1, leaves); err != nil {
				return err
			}
		}
	}
	// Other media types (artifacts, signatures) are not images: skipped.
	return nil
}

// findDigest looks for a descriptor with digest want below d.
func (l *layout) findDigest(ctx context.Context, top, d v1.Descriptor, want digest.Digest, depth int, found *[]leaf) error {
	if depth >= maxIndexDepth {
		return fmt.Errorf("%w: image indexes nest deeper than %d at %s", ErrInvalidLayout, maxIndexDepth, d.Digest)
	}
	idx, err := l.readIndex(ctx, d)
	if err != nil {
		return err
	}
	for _, c := range idx.Manifests {
		if c.Digest == want {
			*found = append(*found, leaf{top: top, desc: c})
			return nil
		}
		if kindOf(c.MediaType) == kindIndex {
			if err := l.findDigest(ctx, top, c, want, depth+1, found); err != nil || len(*found) > 0 {
				return err
			}
		}
	}
	return nil
}

// pickPlatform chooses the best leaf for want.
func (l *layout) pickPlatform(ctx context.Context, ref Reference, leaves []leaf, want Platform, explicit bool) (leaf, error) {
	leaves = dedupLeaves(leaves)
	if len(leaves) == 1 && (!explicit || !leaves[0].known) {
		// The only image: taken unless another platform was asked for,
		// which the caller checks against the config (a mismatch with the
		// host's platform is only a warning, as in umoci).
		return leaves[0], nil
	}
	// Manifests without an indexed platform are placed by their config.
	for i := range leaves {
		if leaves[i].known {
			continue
		}
		m, err := l.readManifest(ctx, leaves[i].desc)
		if err != nil {
			return leaf{}, err
		}
		cfg, err := l.readConfig(ctx, m)
		if err != nil {
			return leaf{}, err
		}
		leaves[i].platform = normalizePlatform(Platform{OS: cfg.OS, Architecture: cfg.Architecture, Variant: cfg.Variant})
		leaves[i].known = true
	}
	best, bestScore := []leaf(nil), 0
	for _, lf := range leaves {
		switch s := platformScore(want, lf.platform); {
		case s > bestScore:
			best, bestScore = []leaf{lf}, s
		case s == bestScore && s > 0:
			best = append(best, lf)
		}
	}
	switch {
	case len(best) == 1:
		return best[0], nil
	case len(best) > 1:
		return leaf{}, fmt.Errorf("%w: %s has %d manifests for %s (%s); name one by digest with LAYOUT@DIGEST",
			ErrAmbiguous, ref, len(best), want, listLeaves(best))
	}
	how := "this host's platform"
	if explicit {
		how = "platform"
	}
	return leaf{}, fmt.Errorf("%w: %s has no manifest for %s %s (available: %s)", ErrNotFound, ref, how, want, listPlatforms(leaves))
}

func dedupLeaves(leaves []leaf) []leaf {
	var out []leaf
	for _, lf := range leaves {
		if !slices.ContainsFunc(out, func(o leaf) bool { return o.desc.Digest == lf.desc.Digest }) {
			out = append(out, lf)
		}
	}
	return out
}

func listPlatforms(leaves []leaf) string {
	var ps []string
	for _, lf := range leaves {
		p := "unknown"
		if lf.known {
			p = lf.platform.String()
		}
		if !slices.Contains(ps, p) {
			ps = append(ps, p)
		}
	}
	return joinCapped(ps)
}

func listLeaves(leaves []leaf) string {
	var ps []string
	for _, lf := range leaves {
		ps = append(ps, lf.platform.String()+" "+lf.desc.Digest.String())
	}
	return joinCapped(ps)
}

func mediaTypesOf(ds []v1.Descriptor) string {
	var ts []string
	for _, d := range ds {
		if !slices.Contains(ts, d.MediaType) {
			ts = append(ts, d.MediaType)
		}
	}
	return joinCapped(ts)
}

func joinCapped(items []string) string {
	if len(items) > maxListed {
		return strings.Join(items[:maxListed], ", ") + fmt.Sprintf(", and %d more", len(items)-maxListed)
	}
	return strings.Join(items, ", ")
}

// describe summarises the layout's tags and platforms for error messages.
// It reads nested indexes but never fails: unreadable ones are skipped.
func (l *layout) describe(ctx context.Context) string {
	var tags []string
	var leaves []leaf
	for _, d := range l.index.Manifests {
		if t := tagOf(d); t != "" && !slices.Contains(tags, t) {
			tags = append(tags, t)
		}
		_ = l.expand(ctx, d, d, 0, &leaves) // best effort: only for the message
	}
	s := "tags: none"
	if len(tags) > 0 {
		s = "tags: " + joinCapped(tags)
	}
	var known []leaf
	for _, lf := range leaves {
		if lf.known {
			known = append(known, lf)
		}
	}
	if len(known) > 0 {
		s += "; platforms: " + listPlatforms(known)
	}
	return s
}
