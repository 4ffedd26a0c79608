package main

import (
	"errors"
	"strings"

	"github.com/mailoauth/mailoauth/core"
	"github.com/mailoauth/mailoauth/store"
)

// The store's errors name no command or flag; here the command line adds
// its own way out to them, in one place.

// storeWording is msg, the text of err, with the store's own way out of a
// store path that cannot be used, a missing or ambiguous profile or
// mailbox, a damaged record, a damaged store without a backup, or a backup
// that could not be sealed, replaced by the command line's.
func storeWording(msg string, err error) string {
	var pa *store.PathError
	if errors.As(err, &pa) {
		msg = strings.Replace(msg, pa.Error(), pathWording(pa), 1)
	}
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
		msg = strings.Replace(msg, re.Error(), re.Problem()+recordHint(re), 1)
	}
	var de *store.DamagedError
	if errors.As(err, &de) {
		msg = strings.Replace(msg, de.Error(), de.Sentence("run `mailoauth setup` or the wizard to start a new store"), 1)
	}
	var be *store.BackupSealError
	if errors.As(err, &be) {
		msg = strings.Replace(msg, be.Error(), core.BackupSealSentence(be), 1)
	}
	return msg
}

// pathWording is the sentence of a store path that cannot be used, with
// the command line's ways out: the commands that set a store up, and
// another --db (the store's sentence names neither).
func pathWording(e *store.PathError) string {
	switch {
	case errors.Is(e, store.ErrNoStore):
		return e.Problem + "; `mailoauth setup` or the wizard (`mailoauth wizard`) creates one, or pass the right --db or MAILOAUTH_DB"
	case e.Fix == "":
		return e.Problem + "; pass --db PATH or set MAILOAUTH_DB"
	}
	return e.Error() + " or pass another --db"
}

func recordHint(e *store.RecordError) string {
	switch e.Record {
	case store.RecordProfile:
		return "; delete it with `mailoauth profile rm " + e.Domain + "` and set it up again"
	case store.RecordPendingLogin:
		return "; run the upgrade again with --legacy"
	}
	return "; run `mailoauth test` again"
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
