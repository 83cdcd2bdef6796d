//go:build linux

package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == decompressCmd {
		if err := decompressMain(os.Args[2:]); err != nil {
			fmt.Fprintln(os.Stderr, "bench: "+err.Error())
			os.Exit(1)
		}
		return
	}
	cfg, err := parseFlags(os.Args[1:])
	if errors.Is(err, errHelp) {
		return
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench: "+err.Error())
		os.Exit(2)
	}
	if os.Getenv(nsEnv) != "1" {
		// Re-run this binary in a private mount namespace, so the tmpfs
		// is never visible to the host and vanishes with the process.
		code, err := reexecInNamespace(cfg.nice)
		if err != nil {
			fmt.Fprintln(os.Stderr, "bench: "+err.Error())
		}
		os.Exit(code)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err = run(ctx, cfg)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench: "+err.Error())
		os.Exit(1)
	}
}
