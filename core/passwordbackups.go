package core

import (
	"fmt"
	"strings"
)

// The words about the store's backups that still hold legacy passwords
// after an upgrade. The store finds, seals and removes those backups but
// names no command (its rule); these sentences add the one that removes
// them, for the engine's run notes (the wizard, `mailoauth test`) and
// `mailoauth upgrade` alike.

// purgeBackupsCommand removes the backups that still hold legacy passwords.
const purgeBackupsCommand = "`mailoauth upgrade --purge-backups`"

// PasswordBackup is a backup beside the store that holds legacy passwords.
type PasswordBackup struct {
	Path string
	// Passwords is how many pending password logins it holds; -1 when it
	// cannot be read (damaged), so it may hold some.
	Passwords int
	// OwnKey is the key file it is sealed under when that is not the
	// store's ("" while the store's key opens it).
	OwnKey string
}

// PasswordBackupsReport is the one sentence every face prints about the
// backups that still hold legacy passwords once the store holds none
// (done) or while some mailboxes are still pending; "" when none does.
func PasswordBackupsReport(bs []PasswordBackup, done bool) string {
	if len(bs) == 0 {
		return ""
	}
	head := "The store still holds the passwords of the pending mailboxes; "
	if done {
		head = "The store holds no legacy password any more; "
	}
	return fmt.Sprintf("%s%d backup(s) still hold legacy passwords: %s; remove them with %s.", head, len(bs), PasswordBackupsList(bs), purgeBackupsCommand)
}

// PasswordBackupsList names each backup with how many passwords it holds
// and the key that opens it, separated by "; ".
func PasswordBackupsList(bs []PasswordBackup) string {
	var names []string
	for _, b := range bs {
		switch {
		case b.Passwords < 0:
			names = append(names, b.Path+" (unreadable, may hold them)")
		case b.OwnKey != "":
			names = append(names, fmt.Sprintf("%s (%d, sealed under its own key %s, not the store's)", b.Path, b.Passwords, b.OwnKey))
		default:
			names = append(names, fmt.Sprintf("%s (%d, sealed with the store's key)", b.Path, b.Passwords))
		}
	}
	return strings.Join(names, "; ")
}

// BackupSealSentence is err, a backup that could not be sealed under a key
// of its own, with the way out: removing it.
func BackupSealSentence(err error) string {
	return err.Error() + "; remove it with " + purgeBackupsCommand
}

// passwordBackupsNote is the run note about the backups once mailboxes of
// domain switched (UpgradeSwitcher.PasswordBackupsAfterSwitch): the
// report, or the backup that could not be sealed; "" when there is none.
func passwordBackupsNote(s UpgradeSwitcher, domain string) string {
	bs, done, err := s.PasswordBackupsAfterSwitch(domain)
	if err != nil {
		return BackupSealSentence(err)
	}
	return PasswordBackupsReport(bs, done)
}
