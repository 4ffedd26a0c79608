package main

import (
	"bufio"
	"fmt"
	"os"
	"strings"

	"github.com/mailoauth/mailoauth/core"
	"github.com/mailoauth/mailoauth/store"
)

// confirm asks question on the terminal and reports a yes; without a
// terminal to ask on it refuses with refusal (a usage error naming --yes).
func (a *app) confirm(question, refusal string) (bool, error) {
	in, ok := a.stdin.(*os.File)
	if !ok || !isTerminal(in) {
		return false, usagef("%s", refusal)
	}
	fmt.Fprint(a.stdout, question+" [y/N] ")
	answer, _ := bufio.NewReader(in).ReadString('\n')
	ans := strings.ToLower(strings.TrimSpace(answer))
	return ans == "y" || ans == "yes", nil
}

// purgePasswordBackups is `mailoauth upgrade --purge-backups`: the backups
// beside the store that hold legacy passwords are removed with their own
// key files, after a yes on the terminal or with --yes.
func purgePasswordBackups(a *app, st *store.Store, yes bool) error {
	bs := st.PasswordBackups()
	if len(bs) == 0 {
		fmt.Fprintf(a.stdout, "No backup beside %s holds a legacy password; nothing to remove.\n", st.Path())
		return nil
	}
	fmt.Fprintf(a.stdout, "%d backup(s) hold legacy passwords: %s.\n", len(bs), core.PasswordBackupsList(bs))
	if !yes {
		ok, err := a.confirm(fmt.Sprintf("Remove these %d backup(s) and their own key files?", len(bs)),
			"removing backups needs confirmation and there is no terminal to ask on; run `mailoauth upgrade --purge-backups --yes`")
		if err != nil {
			return err
		}
		if !ok {
			fmt.Fprintln(a.stdout, "Kept them; nothing was removed.")
			return nil
		}
	}
	if err := store.PurgePasswordBackups(bs); err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "Removed %d backup(s); no backup beside %s holds a legacy password any more.\n", len(bs), st.Path())
	return nil
}

// reportPasswordBackups says which backups still hold legacy passwords
// after an upgrade run; the store decides, as for the run's note, whether
// none of its mailboxes is pending and seals the backups first then.
func reportPasswordBackups(a *app, st *store.Store) error {
	bs, done, err := st.PasswordBackupsAfterSwitch("")
	if msg := core.PasswordBackupsReport(bs, done); msg != "" {
		fmt.Fprintln(a.stdout, msg)
	}
	return err
}
