package proxy

import "github.com/mailoauth/mailoauth/core"

// checkOf is the check whose diagnosis a protocol's refusal gets, and the
// name its findings give the login when that is not the check's
// (core.DiagContext.Protocol): POP3 logs in with the token and scope of
// IMAP, and its refusals are made IMAP's (pop3Error), but the findings
// still name POP3, and have POP3's codes where IMAP's would be
// imap_auth_failed or imap_failed.
func checkOf(p Protocol) (check core.CheckName, protocol string) {
	switch p {
	case SMTP:
		return core.CheckSMTP, ""
	case POP3:
		return core.CheckIMAP, "POP3"
	}
	return core.CheckIMAP, ""
}

type refusalKind int

const (
	refusedPassword refusalKind = iota
	refusedLocked
	refusedLimit
	refusedUpstream
	// refusedConfig: the proxy's configuration lacks what the login
	// needs, which only its administrator can add.
	refusedConfig
)

// refusal is why a login was refused, for the client's reply.
type refusal struct {
	kind refusalKind
	code core.Code
	text string
}

// refusalReplies are a protocol's replies to a refusal: a fixed one for
// a wrong password, and the prefixes of the refusal's text for a full
// mailbox (empty: as temporary), for temporary and for permanent ones, and
// for a refusal of the proxy's configuration (empty: as permanent).
type refusalReplies struct{ password, limit, temporary, permanent, config string }

// reply is the line (without CRLF) the client gets for the refusal.
func (r *refusal) reply(rr refusalReplies) string {
	switch {
	case r.kind == refusedPassword:
		return rr.password
	case r.kind == refusedLimit && rr.limit != "":
		return rr.limit + r.text
	case r.kind == refusedConfig && rr.config != "":
		return rr.config + r.text
	case r.temporary():
		return rr.temporary + r.text
	}
	return rr.permanent + r.text
}

// temporary reports whether the client should retry later rather than fix
// its credentials: the server could not be reached or was busy.
func (r *refusal) temporary() bool {
	switch r.kind {
	case refusedLocked, refusedLimit:
		return true
	case refusedUpstream:
		switch r.code {
		case core.CodeConnectFailed, core.CodeTimeout, core.CodeTooManyConnections, core.CodeTLSUntrusted,
			core.CodeIMAPFailed, core.CodeSMTPFailed, core.CodePOP3Failed, core.CodeUnknown, core.CodeCancelled:
			return true
		}
	}
	return false
}
