// Package core is the mailoauth engine: it loads Google credentials, mints and
// caches OAuth 2.0 access tokens, authenticates to IMAP and SMTP with SASL
// XOAUTH2 / OAUTHBEARER, runs the live checks a mailbox must pass, and turns
// every failure into a Finding that names the exact fix.
//
// The command line and the TUI wizard both call this package; neither holds a
// check, a validation or a user-facing message of its own. core has no UI and
// no database: it defines the small interfaces it needs (TokenCache) and the
// store package implements them.
//
// core must never import another package of the project: not store, tui or
// cmd, and not its own subpackages (core/sandbox, core/proxy, core/watch,
// core/doctor, core/consent, core/mailboxcsv and core/history import core,
// as go-imap's leaves import imap), with one exception below it:
// core/mailproto, the mail-protocol level (SASL, the IMAP and SMTP wire
// details) that imports nothing of the project. The import
// rules test (imports_test.go) enforces the layers README.md's
// Architecture section draws.
package core
