package main

import (
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/safeunpack/safeunpack/unpack"
)

func auditCommand(st *state) *cli.Command {
	return &cli.Command{
		Name:      "audit",
		Usage:     "report the hazardous entries of a layer file without extracting it",
		ArgsUsage: "LAYER_FILE",
		Description: "Reads LAYER_FILE (tar, tar+gzip or tar+zstd) and reports every entry that\n" +
			"could be hazardous: names or links leaving the root, whiteout tricks, root\n" +
			"replacement, devices, setuid and setgid files, world-writable files, huge\n" +
			"declared sizes, sparse bombs, overlay or security xattrs. Nothing is written.\n" +
			"Exits 1 when it finds anything, 0 otherwise.",
		Flags: []cli.Flag{jsonFlag},
		Action: func(c *cli.Context) error {
			if err := needArgs(c, 1); err != nil {
				return err
			}
			file := c.Args().First()
			opts := st.options()
			opts.Progress = nil
			rep, err := unpack.AuditLayerFile(c.Context, file, opts)
			if err != nil {
				return err
			}
			if wantJSON(st, c) {
				if err := st.printJSON(rep); err != nil {
					return err
				}
			} else {
				for _, f := range rep.Findings {
					st.printf("%s\t%s\toffset %d\t%s\n", f.Kind, f.Entry, f.Offset, f.Detail)
				}
				st.printf("%d entries, %d findings, diff_id %s\n", rep.Entries, len(rep.Findings), rep.DiffID)
			}
			if n := len(rep.Findings); n > 0 {
				return findingsError{fmt.Sprintf("audit: %d hazardous entries in %s", n, file)}
			}
			return nil
		},
	}
}
