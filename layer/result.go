package layer

import (
	"fmt"
	"log/slog"

	"github.com/opencontainers/go-digest"
)

// Counts of applied entries by kind.
type Counts struct {
	// Files are regular files (sparse ones included).
	Files int64
	// Dirs are directory entries, the root's included; implied parents
	// are not counted.
	Dirs int64
	// Symlinks and Hardlinks are link entries.
	Symlinks, Hardlinks int64
	// Devices are character and block devices; Fifos are named pipes.
	Devices, Fifos int64
	// Whiteouts are ".wh.<name>" entries and Opaques ".wh..wh..opq"
	// entries, whether or not there was anything to remove.
	Whiteouts, Opaques int64
	// Ignored are entries that create nothing: PAX global headers, GNU
	// volume labels and aufs metadata (".wh..wh.*" other than opaque).
	Ignored int64
}

// Result describes an applied layer.
type Result struct {
	// DiffID is the sha256 of the whole uncompressed stream, trailing bytes
	// after the end-of-archive blocks included.
	DiffID digest.Digest
	// Compression is the decompressor used (from the media type, or
	// detected from magic bytes).
	Compression Compression
	// CompressedBytes read from the blob (the whole blob: Apply drains it).
	CompressedBytes int64
	// UncompressedBytes of the tar stream.
	UncompressedBytes int64
	// Entries is the number of tar entries.
	Entries int64
	// Counts by kind.
	Counts Counts
	// Bytes is the regular-file data written (the logical size of sparse
	// files).
	Bytes int64
	// Warnings, each also logged once. A kind of warning that repeats is
	// reported once, with the number of occurrences.
	Warnings []string
}

// warnings collects warnings of a layer: the first of each kind is logged
// at once; Result.Warnings gets one line per kind with a count.
type warnings struct {
	logger *slog.Logger
	order  []string
	first  map[string]string
	count  map[string]int
}

func newWarnings(logger *slog.Logger) *warnings {
	return &warnings{logger: logger, first: map[string]string{}, count: map[string]int{}}
}

// add records a warning of the given kind about entry.
func (w *warnings) add(kind, entry, detail string) {
	w.count[kind]++
	if w.count[kind] > 1 {
		return
	}
	msg := fmt.Sprintf("%s: entry %s: %s", kind, quoteName(entry), detail)
	w.order = append(w.order, kind)
	w.first[kind] = msg
	w.logger.Warn("layer: "+kind, "entry", entry, "detail", detail)
}

// debugOnce logs a note of the given kind at debug level, once per layer;
// it is not a warning.
func (w *warnings) debugOnce(kind, entry, detail string) {
	key := "debug: " + kind
	if w.count[key]++; w.count[key] > 1 {
		return
	}
	w.logger.Debug("layer: "+kind, "entry", entry, "detail", detail)
}

// list returns one line per kind, in order of first occurrence.
func (w *warnings) list() []string {
	var out []string
	for _, k := range w.order {
		s := w.first[k]
		if n := w.count[k]; n > 1 {
			s += fmt.Sprintf(" (and %d more like it)", n-1)
		}
		out = append(out, s)
	}
	return out
}
