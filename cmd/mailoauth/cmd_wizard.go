package main

import (
	"context"
	"os"

	"github.com/spf13/cobra"

	"github.com/mailoauth/mailoauth/store"
	"github.com/mailoauth/mailoauth/tui"
)

func newWizardCmd(a *app) *cobra.Command {
	var useSandbox bool
	cmd := withHelp("wizard", &cobra.Command{
		RunE: func(cmd *cobra.Command, args []string) error {
			return runWizard(cmd.Context(), a, useSandbox)
		},
	})
	cmd.Flags().BoolVar(&useSandbox, "sandbox", false, "start the built-in Google simulator and walk the whole procedure offline (uses a fresh temporary store unless --db is given)")
	return cmd
}

func runWizard(ctx context.Context, a *app, useSandbox bool) error {
	if !isTerminal(os.Stdin) || !isTerminal(os.Stdout) {
		return &usageError{"the wizard needs a terminal; use the command-line twins instead (`mailoauth setup`, `mailoauth mailbox import`, `mailoauth test --all`)"}
	}
	cfg := tui.Config{Actor: store.LocalActor("wizard"), Profile: a.profile}
	sb, st, closeAll, err := a.openStoreMaybeDemo(useSandbox, "mailoauth-demo-")
	if err != nil {
		return err
	}
	defer closeAll()
	cfg.Sandbox, cfg.Store = sb, st
	return tui.Run(ctx, cfg)
}
