package main

import (
	"errors"

	"github.com/urfave/cli/v2"

	"github.com/safeunpack/safeunpack/unpack"
)

func unpackCommand(st *state) *cli.Command {
	return &cli.Command{
		Name:      "unpack",
		Usage:     "unpack an image from an OCI layout into a runtime bundle",
		ArgsUsage: "BUNDLE",
		Description: "Unpacks the image into BUNDLE/rootfs and writes BUNDLE/config.json (runtime-spec)\n" +
			"and BUNDLE/safeunpack.json (what was unpacked, with digests and options).\n" +
			"BUNDLE must not exist or be an empty directory; its parent must exist.\n\n" +
			"--image takes umoci's LAYOUT[:TAG|@DIGEST]. Without a tag or digest, the tag\n" +
			"\"latest\" is used when the layout has it. A path containing ':' works: the\n" +
			"layout is the shortest prefix before a ':' that is an OCI layout directory.\n\n" +
			"As an unprivileged user (or root of a user namespace) the unpack is rootless:\n" +
			"owners that cannot be applied are recorded in the user.rootlesscontainers xattr\n" +
			"as umoci writes it, devices become empty files, and config.json gets a rootless\n" +
			"user namespace. --log-level=info says which mode was chosen and why.",
		Flags: append([]cli.Flag{
			&cli.StringFlag{Name: "image", Aliases: []string{"i"}, Usage: "image to unpack: `LAYOUT[:TAG|@DIGEST]`"},
			&cli.StringFlag{Name: "platform", Usage: "platform to pick from an index: `OS/ARCH[/VARIANT]` (default: this host's)"},
			&cli.StringFlag{Name: "hostname", Usage: "hostname written to config.json (default: " + unpack.DefaultHostname + ")"},
			jsonFlag,
		}, ownershipFlags()...),
		Action: func(c *cli.Context) error {
			if err := needArgs(c, 1); err != nil {
				return err
			}
			if c.String("image") == "" {
				return usageError{errors.New("unpack: --image LAYOUT[:TAG|@DIGEST] is required")}
			}
			ref, err := unpack.ParseReference(c.String("image"))
			if err != nil {
				return err
			}
			opts := st.options()
			if err := setOwnership(c, &opts); err != nil {
				return err
			}
			opts.Platform = c.String("platform")
			opts.Hostname = c.String("hostname")
			bundle := c.Args().First()
			rec, err := unpack.Unpack(c.Context, ref, bundle, opts)
			if err != nil {
				return err
			}
			if wantJSON(st, c) {
				return st.printJSON(rec)
			}
			var size int64
			for _, l := range rec.Layers {
				size += l.Size
			}
			st.printf("unpacked %s (%s, %s, %d layers, %s) into %s\n",
				ref, rec.ManifestDigest, rec.Platform, len(rec.Layers), humanBytes(size), bundle)
			return nil
		},
	}
}
