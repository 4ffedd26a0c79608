// Package mailproto is the mail-protocol level of mailoauth: the SASL
// XOAUTH2 and OAUTHBEARER exchange (both sides), the SMTP AUTH line limit,
// the IMAP STARTTLS exchange and login adjustments, and the bounds on what
// a mail server may send. It knows the wire, nothing of Google policy,
// profiles, tokens or findings: core's checks and core/proxy log in
// through it, core/sandbox answers through it.
//
// mailproto must never import another package of the project, core
// included; core and its subpackages import it, as go-imap's imapclient
// and imapserver share the imap package. The import rules test
// (core/imports_test.go) enforces this.
package mailproto
