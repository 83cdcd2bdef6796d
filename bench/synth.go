//go:build linux

package main

import (
	"archive/tar"
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"
)

// synthVersion changes whenever buildSynth's output changes.
const synthVersion = 1

// The synthetic layer's shape: 50,000 entries in a random recursive tree
// (mean depth ~8), about 340 MB of payload, compressing about 2:1.
const (
	synthDirs      = 3_000
	synthFiles     = 41_000
	synthSymlinks  = 5_000
	synthHardlinks = 1_000
	synthMaxDepth  = 12
)

// synthEpoch is the base of the synthetic mtimes (2024-01-01 UTC).
var synthEpoch = time.Unix(1704067200, 0)

type synthNode struct {
	name     string
	path     string // from the layer root, set once the tree is complete
	typ      byte   // tar.TypeDir, TypeReg, TypeSymlink or TypeLink
	depth    int
	children []*synthNode
	target   *synthNode // symlink target; nil means dangling
	size     int64
	mode     int64
	uid, gid int
	mtime    time.Time
	content  contentKind
}

// buildSynth writes the synthetic 50,000-entry layer. It is deterministic:
// the same seed gives the same tar, byte for byte.
func buildSynth(ctx context.Context, _ *config, _ string, lw *layerWriter) error {
	r := rand.New(rand.NewPCG(7, 50_000))
	root := synthTree(r)
	g := newContentGen(r)
	var emitted []string // regular files written so far: hardlink targets
	var walk func(dir string, n *synthNode) error
	walk = func(dir string, n *synthNode) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		name := path.Join(dir, n.name)
		hdr := &tar.Header{Typeflag: n.typ, Name: name, Mode: n.mode, Uid: n.uid, Gid: n.gid, ModTime: n.mtime}
		switch n.typ {
		case tar.TypeDir:
			hdr.Name += "/"
		case tar.TypeReg:
			hdr.Size = n.size
			emitted = append(emitted, name)
		case tar.TypeSymlink:
			hdr.Linkname = symlinkTarget(r, dir, n.target)
		case tar.TypeLink:
			if len(emitted) == 0 {
				hdr.Typeflag = tar.TypeReg // nothing to link to yet
				break
			}
			hdr.Linkname = emitted[r.IntN(len(emitted))]
		}
		if err := lw.WriteHeader(hdr); err != nil {
			return fmt.Errorf("writing %q: %w", name, err)
		}
		if hdr.Typeflag == tar.TypeReg && hdr.Size > 0 {
			if err := g.write(lw, n.content, hdr.Size); err != nil {
				return fmt.Errorf("writing %q: %w", name, err)
			}
		}
		for _, c := range n.children {
			if err := walk(name, c); err != nil {
				return err
			}
		}
		return nil
	}
	for _, c := range root.children {
		if err := walk("", c); err != nil {
			return err
		}
	}
	return nil
}

// synthTree builds the tree: a few top-level directories, more directories
// under random parents, then files, symlinks and hardlinks spread over
// them, half uniformly and half skewed towards early (shallow) directories.
func synthTree(r *rand.Rand) *synthNode {
	root := &synthNode{typ: tar.TypeDir}
	dirs := []*synthNode{}
	seq := 0
	add := func(parent *synthNode, typ byte, name string) *synthNode {
		seq++
		n := &synthNode{name: name + "-" + strconv.FormatInt(int64(seq), 36), typ: typ, depth: parent.depth + 1}
		n.uid, n.gid = synthOwner(r, parent)
		n.mtime = synthEpoch.Add(time.Duration(r.Int64N(365*24*3600)) * time.Second)
		parent.children = append(parent.children, n)
		if typ == tar.TypeDir {
			n.mode = pick(r, []int64{0o755, 0o700, 0o1777}, []float64{0.94, 0.05, 0.01})
			dirs = append(dirs, n)
		}
		return n
	}
	for _, top := range []string{"etc", "home", "opt", "srv", "usr", "var"} {
		n := &synthNode{name: top, typ: tar.TypeDir, depth: 1, mode: 0o755, mtime: synthEpoch}
		root.children = append(root.children, n)
		dirs = append(dirs, n)
	}
	for len(dirs) < synthDirs {
		p := dirs[r.IntN(len(dirs))]
		if p.depth >= synthMaxDepth {
			continue
		}
		add(p, tar.TypeDir, synthWord(r))
	}
	pickDir := func() *synthNode {
		if r.IntN(2) == 0 {
			return dirs[r.IntN(len(dirs))]
		}
		u := r.Float64()
		return dirs[int(u*u*float64(len(dirs)))]
	}
	files := make([]*synthNode, 0, synthFiles)
	for range synthFiles {
		n := add(pickDir(), tar.TypeReg, synthWord(r)+synthExt(r))
		n.size = synthSize(r)
		n.mode = pick(r, []int64{0o644, 0o755, 0o600, 0o4755}, []float64{0.78, 0.2, 0.018, 0.002})
		n.content = contentKind(pick(r, []int64{int64(contentText), int64(contentBinary), int64(contentRandom)}, []float64{0.6, 0.3, 0.1}))
		files = append(files, n)
	}
	for range synthSymlinks {
		n := add(pickDir(), tar.TypeSymlink, synthWord(r))
		n.mode = 0o777
		switch x := r.IntN(100); {
		case x < 70:
			n.target = files[r.IntN(len(files))]
		case x < 95:
			n.target = dirs[r.IntN(len(dirs))]
		}
	}
	for range synthHardlinks {
		n := add(pickDir(), tar.TypeLink, synthWord(r))
		n.mode = 0o644
	}
	sortTree(root, "")
	return root
}

// synthOwner: mostly root, a user's home tree, and a few service ids.
func synthOwner(r *rand.Rand, parent *synthNode) (uid, gid int) {
	if parent.uid == 1000 || parent.name == "home" {
		return 1000, 1000
	}
	if r.IntN(100) < 3 {
		ids := []int{1, 33, 100, 106, 65534}
		id := ids[r.IntN(len(ids))]
		return id, id
	}
	return 0, 0
}

// synthSize draws a file size: 3% empty, 82% log-uniform 32 B..8 KiB, 14.5%
// 8..64 KiB, 0.5% 64 KiB..2 MiB (mean ~8 KiB, as in a distribution's
// usr/share tree).
func synthSize(r *rand.Rand) int64 {
	logUniform := func(lo, hi float64) int64 {
		return int64(lo * math.Pow(hi/lo, r.Float64()))
	}
	switch x := r.Float64(); {
	case x < 0.03:
		return 0
	case x < 0.85:
		return logUniform(32, 8<<10)
	case x < 0.995:
		return logUniform(8<<10, 64<<10)
	default:
		return logUniform(64<<10, 2<<20)
	}
}

var synthSyllables = strings.Fields("ab ac al an ar at ba be bi bo ca ce ci co da de di do el en er es fa fe fi ga ge go ha he hi in is it ka ke la le li lo ma me mi mo na ne ni no on or pa pe pi po ra re ri ro sa se si so ta te ti to un ur va ve vi xe yo za ze")

// synthWord returns a pronounceable name; 3% are long (60-90 characters),
// which pushes some paths past the 100-byte ustar limit into PAX headers.
func synthWord(r *rand.Rand) string {
	n := 1 + r.IntN(4)
	if r.IntN(100) < 3 {
		n = 30 + r.IntN(15)
	}
	var b strings.Builder
	for range n {
		b.WriteString(synthSyllables[r.IntN(len(synthSyllables))])
	}
	return b.String()
}

func synthExt(r *rand.Rand) string {
	exts := []string{"", ".so", ".py", ".h", ".txt", ".conf", ".json", ".gz", ".mo", ".html"}
	return exts[r.IntN(len(exts))]
}

// pick returns vals[i] with probability weights[i] (weights sum to 1).
func pick(r *rand.Rand, vals []int64, weights []float64) int64 {
	x := r.Float64()
	for i, w := range weights {
		if x < w {
			return vals[i]
		}
		x -= w
	}
	return vals[len(vals)-1]
}

// sortTree orders every directory's children by name, as the filesystem
// walk that produces a layer would, and sets each node's path.
func sortTree(n *synthNode, dir string) {
	slices.SortFunc(n.children, func(a, b *synthNode) int { return strings.Compare(a.name, b.name) })
	for _, c := range n.children {
		c.path = path.Join(dir, c.name)
		sortTree(c, c.path)
	}
}

// symlinkTarget returns a relative link from dir to target, or a dangling
// absolute one when target is nil.
func symlinkTarget(r *rand.Rand, dir string, target *synthNode) string {
	if target == nil {
		return "/usr/lib/missing-" + synthWord(r)
	}
	from := strings.Split(dir, "/")
	parts := strings.Split(target.path, "/")
	i := 0
	for i < len(from) && i < len(parts)-1 && from[i] == parts[i] {
		i++
	}
	return strings.Repeat("../", len(from)-i) + strings.Join(parts[i:], "/")
}
