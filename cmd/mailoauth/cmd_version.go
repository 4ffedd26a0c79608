package main

import (
	"fmt"

	"github.com/spf13/cobra"
)

// newVersionCmd is `mailoauth version`, the same as --version (kept from
// before the flag existed).
func newVersionCmd(a *app) *cobra.Command {
	return withHelp("version", &cobra.Command{
		Hidden: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			_, err := fmt.Fprintln(a.stdout, "mailoauth", versionString())
			return err
		},
	})
}
