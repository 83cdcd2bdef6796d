package main

import (
	"errors"
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/safeunpack/safeunpack/unpack"
)

// newApp builds the command-line interface. Errors from flag parsing are
// wrapped as usage errors; ExitErrHandler is a no-op so that urfave/cli
// never calls os.Exit and run maps every error to a status.
func newApp(st *state) *cli.App {
	app := &cli.App{
		Name:    "safeunpack",
		Usage:   "unpack OCI images into runtime bundles, safely",
		Version: unpack.Version(),
		Description: "safeunpack turns an OCI image layout into a bundle (rootfs/, config.json,\n" +
			"safeunpack.json) that runc or crun can start. Every blob is verified while it\n" +
			"streams (size, digest, DiffID) and every rootfs path is resolved inside the\n" +
			"rootfs. The bundle appears atomically or not at all.\n\n" +
			"Flags may also follow the arguments.\n\n" + exitHelp,
		Writer:               st.stdout,
		ErrWriter:            st.stderr,
		EnableBashCompletion: true,
		HideHelpCommand:      true,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "log-level", Value: "warn", Usage: "log `LEVEL`: debug, info, warn or error (logs go to stderr)"},
			&cli.BoolFlag{Name: "json", Usage: "print a JSON summary on stdout instead of text"},
			&cli.StringFlag{Name: "gunzip", Value: "builtin", Usage: "gzip decoder: `builtin` (Go, memory-safe), " +
				"auto (igzip or pigz from PATH if present, run as nobody when root), igzip, pigz, or an absolute path to one of them"},
		},
		Before: func(c *cli.Context) error {
			level, err := parseLevel(c.String("log-level"))
			if err != nil {
				return err
			}
			st.setLevel(level)
			st.json = c.Bool("json")
			return st.setGunzip(c.String("gunzip"))
		},
		Action: func(c *cli.Context) error {
			if c.Args().Present() {
				return usageError{fmt.Errorf("unknown command %q (see safeunpack --help)", c.Args().First())}
			}
			_ = cli.ShowAppHelp(c)
			return usageError{errors.New("no command given")}
		},
		OnUsageError: func(_ *cli.Context, err error, _ bool) error {
			return usageError{fmt.Errorf("%w (see safeunpack --help)", err)}
		},
		ExitErrHandler: func(*cli.Context, error) {},
		Commands: []*cli.Command{
			unpackCommand(st),
			applyCommand(st),
			listCommand(st),
			auditCommand(st),
			completionCommand(st),
		},
	}
	for _, cmd := range app.Commands {
		name := cmd.Name
		cmd.OnUsageError = func(_ *cli.Context, err error, _ bool) error {
			return usageError{fmt.Errorf("%s: %w (see safeunpack %s --help)", name, err, name)}
		}
	}
	return app
}

// jsonFlag is the per-command --json, equivalent to the global one.
var jsonFlag = &cli.BoolFlag{Name: "json", Usage: "print a JSON summary on stdout instead of text"}

// wantJSON reports whether --json was given globally or to the command.
func wantJSON(st *state, c *cli.Context) bool { return st.json || c.Bool("json") }

// needArgs checks the number of positional arguments.
func needArgs(c *cli.Context, n int) error {
	if c.NArg() != n {
		return usageError{fmt.Errorf("%s: want %d argument(s) (%s), got %d", c.Command.Name, n, c.Command.ArgsUsage, c.NArg())}
	}
	return nil
}
