package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

func main() {
	os.Exit(run(context.Background(), os.Args, os.Stdout, os.Stderr))
}

// run is the whole program but os.Exit: it returns the exit status. SIGINT
// and SIGTERM cancel the context given to the command, which then removes
// what it staged; a second signal while cleaning up is ignored.
func run(parent context.Context, args []string, stdout, stderr io.Writer) int {
	termCtx, stopTerm := signal.NotifyContext(parent, syscall.SIGTERM)
	defer stopTerm()
	ctx, stopInt := signal.NotifyContext(termCtx, os.Interrupt)
	defer stopInt()

	st := newState(stdout, stderr)
	app := newApp(st)
	err := app.RunContext(ctx, reorderArgs(app, args))
	st.progressDone()
	if err == nil {
		return exitOK
	}
	code := exitCode(err)
	if parent.Err() == nil {
		switch {
		case termCtx.Err() != nil:
			code = exitTerminated
		case ctx.Err() != nil:
			code = exitInterrupted
		}
	}
	if msg := oneLine(err); msg != "" {
		fmt.Fprintln(stderr, "safeunpack: "+msg)
	}
	return code
}

// oneLine flattens an error message to one line.
func oneLine(err error) string {
	s := strings.TrimSpace(err.Error())
	s = strings.ReplaceAll(s, "\r", "")
	return strings.ReplaceAll(s, "\n", "; ")
}
