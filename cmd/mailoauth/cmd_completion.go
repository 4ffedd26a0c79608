package main

import (
	"github.com/spf13/cobra"
)

func newCompletionCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "completion SHELL",
		Short: "the shell completion script: commands, flags, profile domains and mailbox addresses",
		Long: "Prints the completion script of a shell. It completes commands and flags, and profile domains and mailbox " +
			"addresses from the store (--db, else $MAILOAUTH_DB, else the default), read-only; without a store it completes none. " +
			"make install puts the scripts where each shell finds them.",
		Example: "# this shell only\nsource <(mailoauth completion bash)\n" +
			"mailoauth completion bash > /etc/bash_completion.d/mailoauth\n" +
			"mailoauth completion zsh > \"${fpath[1]}/_mailoauth\"\n" +
			"mailoauth completion fish > ~/.config/fish/completions/mailoauth.fish",
		ValidArgs: []cobra.Completion{"bash", "zsh", "fish"},
		Args:      exactArgs(1, "name one shell: mailoauth completion bash (or zsh, fish)"),
		RunE: func(cmd *cobra.Command, args []string) error {
			root := cmd.Root()
			switch args[0] {
			case "bash":
				return root.GenBashCompletionV2(a.stdout, true)
			case "zsh":
				return root.GenZshCompletion(a.stdout)
			case "fish":
				return root.GenFishCompletion(a.stdout, true)
			}
			return usagef("no completion for shell %q; use bash, zsh or fish", args[0])
		},
	}
}
