package layer

import (
	"errors"
	"fmt"
	"strings"
)

// sentinel is an exported error value that may also match a more general
// sentinel through errors.Is, so that ErrInvalidWhiteout is an
// ErrInvalidEntry, which is an ErrInvalidArchive.
type sentinel struct {
	msg    string
	parent error
}

func (e *sentinel) Error() string { return e.msg }

// Is reports whether target is e's parent class (or its parent's).
func (e *sentinel) Is(target error) bool {
	return e.parent != nil && errors.Is(e.parent, target)
}

var (
	// ErrInvalidArchive is the class of every error caused by the layer's
	// bytes rather than by the host: a truncated or malformed tar stream, a
	// corrupt gzip or zstd stream, and every [ErrInvalidEntry]. An archive
	// that fails this way fails the same way every time (threats.md INV-6).
	ErrInvalidArchive error = &sentinel{msg: "layer: invalid archive"}

	// ErrInvalidEntry means one tar entry is unacceptable: a NUL byte in a
	// name, link name or xattr key, a non-directory entry for the root
	// itself (CVE-2021-29136), a mode with bits outside 07777 and the file
	// type, a negative or out-of-range owner or device number, or a type
	// flag this package does not know. It matches [ErrInvalidArchive].
	ErrInvalidEntry error = &sentinel{msg: "layer: invalid tar entry", parent: ErrInvalidArchive}

	// ErrInvalidWhiteout means a whiteout names nothing ".wh.", ".wh..",
	// ".wh..." (image-spec layer.md; containerd's validateWhiteout), or a
	// ".wh." name is used as a directory. Nothing is removed when it is
	// returned. It matches [ErrInvalidEntry] and [ErrInvalidArchive].
	ErrInvalidWhiteout error = &sentinel{msg: "layer: invalid whiteout", parent: ErrInvalidEntry}

	// ErrLimitExceeded means a [Limits] bound was reached. The error is a
	// [*LimitError] naming the limit, wrapped in an [*EntryError] naming
	// the entry.
	ErrLimitExceeded error = &sentinel{msg: "layer: limit exceeded"}

	// ErrUnmappedID means an entry's uid or gid is outside every range of
	// [Options.UIDMap] or [Options.GIDMap].
	ErrUnmappedID error = &sentinel{msg: "layer: id not mapped"}

	// ErrUnsupportedCompression means the blob is compressed with something
	// other than gzip or zstd (bzip2 and xz are recognised and refused), or
	// [Options.MediaType] is not a layer media type this package knows.
	ErrUnsupportedCompression error = &sentinel{msg: "layer: unsupported compression"}

	// ErrInvalidOptions means an [Options] field is malformed; options are
	// validated before any I/O.
	ErrInvalidOptions error = &sentinel{msg: "layer: invalid options"}
)

// LimitError reports which bound of [Limits] (or which built-in bound) an
// operation hit. It matches [ErrLimitExceeded] with errors.Is, and also the
// underlying error when there is one (unix.ELOOP for MaxSymlinkHops).
type LimitError struct {
	// Limit is the name of the bound, such as "MaxBytes" or "MaxEntries".
	Limit string
	// Value is the bound that was exceeded.
	Value int64
	// Err is the underlying error, if any.
	Err error
}

func (e *LimitError) Error() string {
	s := fmt.Sprintf("limit %s (%d) exceeded", e.Limit, e.Value)
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Is matches ErrLimitExceeded.
func (e *LimitError) Is(target error) bool { return target == ErrLimitExceeded }

// Unwrap returns the underlying error.
func (e *LimitError) Unwrap() error { return e.Err }

// EntryError is the error Apply and Audit return for anything that went
// wrong while a layer was read or applied: it names the tar entry and the
// byte offset of its header in the uncompressed stream (or, when reading a
// header failed, the entry before it and where reading stopped). Use
// errors.AsType to get at the fields and errors.Is for the cause.
type EntryError struct {
	// Entry is the entry's name as stored in the archive (before cleaning);
	// empty when the error happened before or between entries.
	Entry string
	// After, for errors between entries, is the name of the last entry
	// read successfully (empty at the start of the stream).
	After string
	// Offset is the byte offset, in the uncompressed stream, of the entry's
	// header, or where reading stopped.
	Offset int64
	// Op is what was being done, such as "mkdir" or "read header".
	Op string
	// Err is the cause.
	Err error
}

// maxNameInMessage bounds how much of a hostile name goes into a message.
const maxNameInMessage = 256

func quoteName(name string) string {
	if len(name) > maxNameInMessage {
		return fmt.Sprintf("%q...", name[:maxNameInMessage])
	}
	return fmt.Sprintf("%q", name)
}

func (e *EntryError) Error() string {
	var b strings.Builder
	b.WriteString("layer: ")
	switch {
	case e.Entry != "":
		fmt.Fprintf(&b, "entry %s at offset %d", quoteName(e.Entry), e.Offset)
	case e.After != "":
		fmt.Fprintf(&b, "after entry %s, at offset %d", quoteName(e.After), e.Offset)
	default:
		fmt.Fprintf(&b, "at offset %d", e.Offset)
	}
	if e.Op != "" {
		b.WriteString(": ")
		b.WriteString(e.Op)
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

// Unwrap returns the cause.
func (e *EntryError) Unwrap() error { return e.Err }

// invalidEntry returns an ErrInvalidEntry error with a detail message.
func invalidEntry(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalidEntry}, args...)...)
}

// invalidWhiteout returns an ErrInvalidWhiteout error with a detail message.
func invalidWhiteout(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalidWhiteout}, args...)...)
}
