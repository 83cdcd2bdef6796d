package main

import (
	"github.com/urfave/cli/v2"

	"github.com/safeunpack/safeunpack/unpack"
)

func applyCommand(st *state) *cli.Command {
	return &cli.Command{
		Name:      "apply",
		Usage:     "apply one layer file (tar, tar+gzip or tar+zstd) to a directory",
		ArgsUsage: "LAYER_FILE ROOTFS",
		Description: "Applies LAYER_FILE to ROOTFS, creating ROOTFS when missing. The compression\n" +
			"is detected from the file's first bytes; whiteouts remove what ROOTFS holds.\n" +
			"Every entry is resolved inside ROOTFS, so this is also the way to try a\n" +
			"hostile tarball. Unlike unpack, it modifies ROOTFS in place.",
		Flags: append([]cli.Flag{jsonFlag}, ownershipFlags()...),
		Action: func(c *cli.Context) error {
			if err := needArgs(c, 2); err != nil {
				return err
			}
			file, rootfs := c.Args().Get(0), c.Args().Get(1)
			opts := st.options()
			if err := setOwnership(c, &opts); err != nil {
				return err
			}
			res, err := unpack.ApplyLayerFile(c.Context, file, rootfs, opts)
			if err != nil {
				return err
			}
			if wantJSON(st, c) {
				return st.printJSON(res)
			}
			st.printf("applied %s to %s: %d entries, %s uncompressed, diff_id %s\n",
				file, rootfs, res.Entries, humanBytes(res.UncompressedBytes), res.DiffID)
			return nil
		},
	}
}
