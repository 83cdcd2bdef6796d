package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/safeunpack/safeunpack/internal/extgzip"
	"github.com/safeunpack/safeunpack/unpack"
)

// state is what the commands share: output streams, the logger chosen by
// --log-level, --json, and the progress bar.
type state struct {
	stdout, stderr io.Writer
	logger         *slog.Logger
	json           bool
	bar            *progressBar
	gunzip         *extgzip.Decompressor
}

func newState(stdout, stderr io.Writer) *state {
	st := &state{stdout: stdout, stderr: stderr}
	if f, ok := stderr.(*os.File); ok && isTerminal(f) {
		st.bar = newProgressBar(stderr)
	}
	st.setLevel(slog.LevelWarn)
	return st
}

// setLevel (re)creates the logger. Log lines first clear the progress bar,
// which redraws on its next update.
func (st *state) setLevel(level slog.Level) {
	st.logger = newLogger(logWriter{st}, level)
}

// logWriter writes log lines to stderr after clearing the progress bar.
type logWriter struct{ st *state }

func (w logWriter) Write(p []byte) (int, error) {
	w.st.progressDone()
	return w.st.stderr.Write(p)
}

// newLogger writes "level=WARN msg=..." lines without timestamps.
func newLogger(w io.Writer, level slog.Level) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{
		Level: level,
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) == 0 && a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		},
	}))
}

// parseLevel parses --log-level.
func parseLevel(s string) (slog.Level, error) {
	switch strings.ToLower(s) {
	case "debug":
		return slog.LevelDebug, nil
	case "info":
		return slog.LevelInfo, nil
	case "warn", "warning":
		return slog.LevelWarn, nil
	case "error":
		return slog.LevelError, nil
	}
	return 0, usageError{fmt.Errorf("--log-level %q: want debug, info, warn or error", s)}
}

// options returns the library options common to every command.
func (st *state) options() unpack.Options {
	opts := unpack.Options{Logger: st.logger}
	if st.bar != nil {
		opts.Progress = st.bar.update
	}
	if st.gunzip != nil {
		opts.Gunzip, opts.GunzipPath = st.gunzip.Start, st.gunzip.Path()
	}
	return opts
}

// setGunzip resolves --gunzip once, before any rootfs exists.
func (st *state) setGunzip(name string) error {
	if name == "" || name == "builtin" {
		return nil
	}
	d, err := extgzip.Find(name)
	if name == "auto" && errors.Is(err, extgzip.ErrNotFound) {
		st.logger.Info("--gunzip auto: no igzip or pigz on PATH, using the built-in decoder")
		return nil
	}
	if err != nil {
		return usageError{fmt.Errorf("--gunzip %s: %w", name, err)}
	}
	st.logger.Info("using an external gzip decoder", slog.String("path", d.Path()))
	st.gunzip = d
	return nil
}

// progressDone clears the progress bar, if one was drawn.
func (st *state) progressDone() {
	if st.bar != nil {
		st.bar.done()
	}
}

// printJSON writes v as indented JSON to stdout.
func (st *state) printJSON(v any) error {
	st.progressDone()
	enc := json.NewEncoder(st.stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// printf writes a line of human-readable output to stdout.
func (st *state) printf(format string, args ...any) {
	st.progressDone()
	fmt.Fprintf(st.stdout, format, args...)
}

// humanBytes formats n as "1.2 MiB".
func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
