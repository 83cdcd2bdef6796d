package main

import (
	"github.com/urfave/cli/v2"

	"github.com/safeunpack/safeunpack/unpack"
)

// ownershipFlags are the flags of unpack and apply that decide how owners
// are applied: umoci's --rootless, --uid-map and --gid-map.
func ownershipFlags() []cli.Flag {
	return []cli.Flag{
		&cli.BoolFlag{Name: "rootless", Usage: "record owners in user.rootlesscontainers instead of applying them " +
			"(automatic for an unprivileged user or root of a user namespace; see docs/rootless.md)"},
		&cli.StringSliceFlag{Name: "uid-map", Usage: "map container uids to host uids, `C:H:S` (umoci's syntax; " +
			"repeatable or comma-separated); as root, an unmapped uid is an error"},
		&cli.StringSliceFlag{Name: "gid-map", Usage: "map container gids to host gids, `C:H:S` (as --uid-map)"},
	}
}

// setOwnership copies the ownership flags into opts; the unpack package
// parses and validates the maps (before any I/O).
func setOwnership(c *cli.Context, opts *unpack.Options) error {
	var err error
	opts.Rootless = c.Bool("rootless")
	if opts.UIDMap, err = unpack.ParseIDMaps(c.StringSlice("uid-map")); err != nil {
		return usageError{err}
	}
	if opts.GIDMap, err = unpack.ParseIDMaps(c.StringSlice("gid-map")); err != nil {
		return usageError{err}
	}
	return nil
}
