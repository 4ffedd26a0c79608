// Package store keeps what mailoauth configured in one embedded bbolt
// database: a profile per Google domain (its credential and P12 password
// sealed), the mailboxes assigned to it, cached access tokens (sealed), the
// last check result of every mailbox and an append-only audit log.
//
// Secrets are sealed with XChaCha20-Poly1305 under a 32-byte key that lives
// apart from the database, in a 0600 key file beside it (<db>.key) or in the
// MAILOAUTH_KEY environment variable; the record's bucket path and key are
// the additional data, so a sealed value cannot be moved to another record.
// The database itself is 0600. bbolt locks the file for as long as it is
// open, so a Store holds it only while it is used: it lets go of the file
// after a short idle period and takes it back on the next call. A
// long-running mailoauth (serve, the wizard) thus never locks out `mailoauth
// token` or a cron job; only a process inside a transaction does, and then a
// second mailoauth gets ErrLocked within two seconds instead of waiting.
// Read-only stores share the lock, so many mail programs can read at once.
//
// The schema is versioned in the meta bucket and upgraded in one transaction
// on Open (after a backup copy of the old file); a database written by a
// newer mailoauth is refused. Store implements core.TokenCache through
// TokenCache, so the engine never sees bbolt.
//
// store imports core (its types and validations) and nothing else of the
// project: never tui, cmd, or a subpackage of core. Its errors name no
// command-line flag or command; the command line adds those from the typed
// errors (PathError, ProfileError, MailboxError, RecordError, DamagedError,
// BackupSealError), and the sentences that say to restart the program or
// run it as another user name it only as Options.Program gives it.
package store
