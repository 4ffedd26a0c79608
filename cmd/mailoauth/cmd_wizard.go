package main

import (
	"context"
	"os"

	"github.com/mailoauth/mailoauth/store"
	"github.com/mailoauth/mailoauth/tui"
)

func runWizard(ctx context.Context, a *app, args []string) error {
	fs := a.newFlags("wizard", "wizard [--sandbox] [--db PATH] [--profile DOMAIN]")
	useSandbox := fs.Bool("sandbox", false, "start the built-in Google simulator and walk the whole procedure offline (uses a fresh temporary store unless --db is given)")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	if !isTerminal(os.Stdin) || !isTerminal(os.Stdout) {
		return &usageError{"the wizard needs a terminal; use the command-line twins instead (`mailoauth setup`, `mailoauth mailbox import`, `mailoauth test --all`)"}
	}
	cfg := tui.Config{Actor: store.LocalActor("wizard"), Profile: a.profile}
	if *useSandbox {
		sb, stop, err := a.startDemoSandbox("mailoauth-demo-")
		if err != nil {
			return err
		}
		defer stop()
		cfg.Sandbox = sb
	}
	st, err := a.openStore()
	if err != nil {
		return err
	}
	defer st.Close()
	cfg.Store = st
	return tui.Run(ctx, cfg)
}
