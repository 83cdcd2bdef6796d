package main

import (
	"fmt"

	"github.com/urfave/cli/v2"
)

// bashCompletion asks the program itself for candidates through
// urfave/cli's --generate-bash-completion, falling back to file names.
const bashCompletion = `# bash completion for safeunpack; load with: source <(safeunpack completion bash)
_safeunpack_complete() {
	local cur="${COMP_WORDS[COMP_CWORD]}" words
	words=$("${COMP_WORDS[@]:0:COMP_CWORD}" --generate-bash-completion 2>/dev/null)
	COMPREPLY=($(compgen -W "${words}" -- "${cur}"))
	if [ ${#COMPREPLY[@]} -eq 0 ]; then
		COMPREPLY=($(compgen -f -- "${cur}"))
	fi
}
complete -o filenames -F _safeunpack_complete safeunpack
`

func completionCommand(st *state) *cli.Command {
	return &cli.Command{
		Name:      "completion",
		Usage:     "print a shell completion script",
		ArgsUsage: "bash",
		Action: func(c *cli.Context) error {
			if err := needArgs(c, 1); err != nil {
				return err
			}
			if c.Args().First() != "bash" {
				return usageError{fmt.Errorf("completion: only bash is supported, not %q", c.Args().First())}
			}
			st.printf("%s", bashCompletion)
			return nil
		},
	}
}
