package main

import (
	"errors"
	"strings"

	"github.com/mailoauth/mailoauth/store"
)

// The store's errors name no command or flag; here the command line adds
// its own way out to them, in one place.

// dbHint is the command line's way out of a store path that cannot be
// used: another --db (the store's sentence names no flag).
func dbHint(err error) string {
	var pe *store.PathError
	switch {
	case !errors.As(err, &pe):
		return ""
	case pe.Fix == "":
		return "; pass --db PATH or set MAILOAUTH_DB"
	case errors.Is(pe, store.ErrNoStore):
		return ", or pass the right --db or MAILOAUTH_DB"
	}
	return " or pass another --db"
}

// storeWording is msg, the text of err, with the store's own way out of a
// missing or ambiguous profile or mailbox, a damaged record, or a damaged
// store without a backup, replaced by the command line's.
func storeWording(msg string, err error) string {
	var pe *store.ProfileError
	if errors.As(err, &pe) {
		msg = strings.Replace(msg, pe.Error(), pe.Problem()+profileHint(pe), 1)
	}
	var me *store.MailboxError
	if errors.As(err, &me) {
		msg = strings.Replace(msg, me.Error(), me.Problem()+mailboxHint(me), 1)
	}
	var re *store.RecordError
	if errors.As(err, &re) {
		hint := "; run `mailoauth test` again"
		if re.Record == store.RecordPendingLogin {
			hint = "; run the upgrade again with --legacy"
		}
		msg = strings.Replace(msg, re.Error(), re.Problem()+hint, 1)
	}
	var de *store.DamagedError
	if errors.As(err, &de) {
		msg = strings.Replace(msg, de.Error(), de.Sentence("run `mailoauth setup` or the wizard to start a new store"), 1)
	}
	return msg
}

func profileHint(e *store.ProfileError) string {
	switch {
	case e.Domain != "" && len(e.Known) == 0:
		return "; create one for " + e.Domain + " with `mailoauth setup --domain " + e.Domain + "`"
	case e.Domain != "":
		return " (choose one with --profile, or create it with `mailoauth setup --domain " + e.Domain + "`)"
	case len(e.Known) == 0:
		return "; run `mailoauth setup --domain yourcompany.example --sender administrator@yourcompany.example --key service-account.json` or `mailoauth wizard` first"
	}
	return "; choose one with --profile DOMAIN"
}

func mailboxHint(e *store.MailboxError) string {
	if e.Add {
		return "; add it first with `mailoauth mailbox add " + e.Mailbox + "`"
	}
	return "; list them with `mailoauth mailbox ls`"
}
