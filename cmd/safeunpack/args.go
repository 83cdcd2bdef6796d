package main

import (
	"slices"
	"strings"

	"github.com/urfave/cli/v2"
)

// reorderArgs lets flags follow positional arguments, as users of umoci and
// crane expect ("safeunpack audit layer.tar --json"): urfave/cli v2 stops
// parsing flags at the first positional argument. For the command named in
// args, every flag after it (with its value, for flags that take one) is
// moved before the positional arguments; a global flag given after the
// command is moved before the command. "--" ends the reordering, and a
// shell-completion request is left alone.
func reorderArgs(app *cli.App, args []string) []string {
	if len(args) < 2 || slices.Contains(args, "--generate-bash-completion") {
		return args
	}
	globals := flagArity(app.Flags)
	// Skip global flags before the command.
	i := 1
	for i < len(args) {
		a := args[i]
		if !strings.HasPrefix(a, "-") || a == "-" {
			break
		}
		if a == "--" {
			return args
		}
		i++
		if takesValue(globals, a) && i < len(args) {
			i++
		}
	}
	if i >= len(args) {
		return args
	}
	cmd := app.Command(args[i])
	if cmd == nil {
		return args
	}
	locals := flagArity(cmd.Flags)
	var moved, local, positional []string
	j := i + 1
	for ; j < len(args); j++ {
		a := args[j]
		if a == "--" {
			break
		}
		if !strings.HasPrefix(a, "-") || a == "-" {
			positional = append(positional, a)
			continue
		}
		name := flagName(a)
		dst := &local
		if _, ok := locals[name]; !ok {
			if _, ok := globals[name]; ok {
				dst = &moved
			}
		}
		*dst = append(*dst, a)
		arity := locals
		if dst == &moved {
			arity = globals
		}
		if takesValue(arity, a) && j+1 < len(args) {
			j++
			*dst = append(*dst, args[j])
		}
	}
	out := slices.Clone(args[:i])
	out = append(out, moved...)
	out = append(out, args[i])
	out = append(out, local...)
	if j < len(args) {
		// Keep "--" so that what follows stays positional.
		positional = append(positional, args[j:]...)
	} else if len(positional) > 0 && strings.HasPrefix(positional[0], "-") {
		positional = append([]string{"--"}, positional...)
	}
	return append(out, positional...)
}

// flagArity maps each flag name and alias to whether it takes a value.
func flagArity(flags []cli.Flag) map[string]bool {
	m := map[string]bool{}
	for _, f := range flags {
		_, isBool := f.(*cli.BoolFlag)
		for _, n := range f.Names() {
			m[n] = !isBool
		}
	}
	return m
}

func flagName(a string) string {
	n := strings.TrimLeft(a, "-")
	n, _, _ = strings.Cut(n, "=")
	return n
}

// takesValue reports whether flag a consumes the next argument.
func takesValue(arity map[string]bool, a string) bool {
	return !strings.Contains(a, "=") && arity[flagName(a)]
}
