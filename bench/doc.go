//go:build linux

// Command bench is safeunpack's end-to-end benchmark harness (issue 7).
//
// It builds a real Debian bookworm minbase rootfs with mmdebstrap and two
// synthetic layers, packs each as OCI image layouts with gzip, zstd and
// uncompressed layers, then times safeunpack against GNU tar, bsdtar and
// umoci on tmpfs inside a private mount namespace, alternating the tools
// round by round, and prints a Markdown report. See bench/README.md.
//
// Trust: the harness runs as root and is not a safe extractor. It only ever
// feeds the tools data sets it built itself (the Debian rootfs comes from
// the configured mirror, verified by apt), and it runs GNU tar, bsdtar and
// umoci, which do not confine their writes, on targets inside its own tmpfs.
// That tmpfs is mounted in a private mount namespace (ns.go), so nothing it
// mounts is visible to the host or outlives the process. Host state it
// reads (the CPU model, CPU load) comes through package procfs like every
// other /proc access in this module.
package main
