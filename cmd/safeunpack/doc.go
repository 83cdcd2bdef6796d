// Command safeunpack unpacks OCI images into runtime bundles that runc or
// crun can start, applies and audits single layer files, and lists the
// images of a layout. It is a thin layer over package unpack: it parses
// flags, installs signal handling, renders progress and maps errors to exit
// statuses; everything else happens in the library.
//
// Usage:
//
//	safeunpack [--log-level LEVEL] [--json] COMMAND [flags] ARGS
//	safeunpack unpack --image LAYOUT[:TAG|@DIGEST] [--platform OS/ARCH[/VARIANT]]
//	        [--rootless] [--uid-map C:H:S ...] [--gid-map C:H:S ...] BUNDLE
//	safeunpack apply [--rootless] [--uid-map C:H:S ...] [--gid-map C:H:S ...] LAYER_FILE ROOTFS
//	safeunpack list --image LAYOUT
//	safeunpack audit [--json] LAYER_FILE
//	safeunpack completion bash
//
// As an unprivileged user, or root of a user namespace, unpack and apply are
// rootless (--rootless forces it): owners that cannot be applied are recorded
// in the user.rootlesscontainers xattr as umoci writes it; --log-level=info
// says which mode was chosen and why (docs/rootless.md).
//
// Flags may also follow the positional arguments. Exit statuses:
//
//	0    success (audit: no hazardous entry)
//	1    failure: I/O or extraction error; audit: hazardous entries found
//	2    usage: bad flags or arguments, malformed reference or platform,
//	     ambiguous reference
//	3    invalid or unverifiable image: malformed layout or JSON, missing
//	     blob, unknown tag, digest, size or DiffID mismatch, oversized
//	     document, unsupported media type, rejected layer content, an
//	     owner outside --uid-map or --gid-map
//	4    the bundle exists and is not empty (it was not touched)
//	130  interrupted by SIGINT (143: SIGTERM); nothing was left behind
//
// On failure one line starting with "safeunpack: " is written to stderr.
package main
