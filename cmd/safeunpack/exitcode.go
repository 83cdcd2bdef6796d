package main

import (
	"errors"

	"github.com/safeunpack/safeunpack/layer"
	"github.com/safeunpack/safeunpack/pathrs"
	"github.com/safeunpack/safeunpack/unpack"
)

// Exit statuses, documented in doc.go, the README and --help.
const (
	exitOK           = 0
	exitFailure      = 1
	exitUsage        = 2
	exitInvalidImage = 3
	exitBundleExists = 4
	exitInterrupted  = 130 // 128 + SIGINT
	exitTerminated   = 143 // 128 + SIGTERM
)

// exitHelp is the exit-status section of --help.
const exitHelp = `EXIT STATUS:
   0    success (audit: no hazardous entry found)
   1    failure (I/O, extraction); audit: hazardous entries found
   2    usage error: bad flags or arguments, malformed reference or platform,
        ambiguous reference
   3    invalid or unverifiable image: malformed layout or JSON, missing blob,
        unknown tag or platform, digest, size or DiffID mismatch, oversized
        document, unsupported media type, rejected layer content, an
        owner outside --uid-map or --gid-map
   4    the bundle exists and is not empty (left untouched)
   130  interrupted (SIGINT; 143 for SIGTERM): staged files were removed`

// usageError marks an error in how the program was called.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

// findingsError reports that audit found hazardous entries.
type findingsError struct{ msg string }

func (e findingsError) Error() string { return e.msg }

// exitCode maps an error to an exit status.
func exitCode(err error) int {
	_, isFindings := errors.AsType[findingsError](err)
	_, isUsage := errors.AsType[usageError](err)
	switch {
	case err == nil:
		return exitOK
	case isFindings:
		return exitFailure
	case isUsage,
		errors.Is(err, unpack.ErrInvalidOptions),
		errors.Is(err, unpack.ErrAmbiguous),
		errors.Is(err, layer.ErrInvalidOptions):
		return exitUsage
	case errors.Is(err, unpack.ErrBundleExists):
		return exitBundleExists
	case errors.Is(err, unpack.ErrInvalidLayout),
		errors.Is(err, unpack.ErrNotFound),
		errors.Is(err, unpack.ErrDigestMismatch),
		errors.Is(err, unpack.ErrSizeMismatch),
		errors.Is(err, unpack.ErrDiffIDMismatch),
		errors.Is(err, unpack.ErrBlobTooLarge),
		errors.Is(err, unpack.ErrUnsupportedMediaType),
		errors.Is(err, unpack.ErrInvalidUser),
		errors.Is(err, layer.ErrInvalidArchive),
		errors.Is(err, layer.ErrLimitExceeded),
		errors.Is(err, layer.ErrUnmappedID),
		errors.Is(err, layer.ErrUnsupportedCompression),
		errors.Is(err, pathrs.ErrPossibleBreakout):
		return exitInvalidImage
	}
	return exitFailure
}
