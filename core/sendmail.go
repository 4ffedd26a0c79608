package core

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// SendMessage sends msg (a whole RFC 5322 message) from the mailbox to the
// recipients through the Tester's SMTP server, logged in with the mailbox's
// OAuth token exactly as the smtp check does. A failure comes back as a
// FindingError naming the fix (the sender's own problem, e.g. its consent
// was revoked).
func (t *Tester) SendMessage(ctx context.Context, from string, to []string, msg []byte) error {
	from = strings.ToLower(strings.TrimSpace(from))
	s := &session{t: t, mailbox: from, ep: t.endpoints()}
	ctx, cancel := context.WithTimeout(ctx, t.timeout())
	defer cancel()
	unlock, err := t.lock(ctx, from)
	if err != nil {
		return &FindingError{Finding: Diagnose(err, s.diag(CheckSMTP)), Err: err}
	}
	defer unlock()
	fail := func(err error) error {
		return &FindingError{Finding: Diagnose(err, s.diag(CheckSMTP)), Err: err}
	}
	c, err := s.smtpLogin(ctx)
	if err != nil {
		return fail(err)
	}
	defer c.close()
	if err := c.c.Mail(from, nil); err != nil {
		return fail(ctxErr(ctx, s.ep.SMTP, err))
	}
	for _, r := range to {
		if err := c.c.Rcpt(r, nil); err != nil {
			return fail(ctxErr(ctx, s.ep.SMTP, err))
		}
	}
	w, err := c.c.Data()
	if err != nil {
		return fail(ctxErr(ctx, s.ep.SMTP, err))
	}
	if _, err := w.Write(msg); err != nil {
		w.Close()
		return fail(ctxErr(ctx, s.ep.SMTP, err))
	}
	if err := w.Close(); err != nil {
		return fail(ctxErr(ctx, s.ep.SMTP, err))
	}
	_ = c.c.Quit()
	return nil
}

// TextMessage builds a plain-text message with the given headers' values.
func TextMessage(from, to, subject, body string, now time.Time) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "From: <%s>\r\nTo: <%s>\r\nSubject: %s\r\nDate: %s\r\nMessage-ID: <%s@mailoauth.invalid>\r\n",
		from, to, strings.NewReplacer("\r", " ", "\n", " ").Replace(subject), now.Format(time.RFC1123Z), randomID())
	b.WriteString("MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n")
	b.WriteString(strings.ReplaceAll(strings.ReplaceAll(body, "\r\n", "\n"), "\n", "\r\n"))
	if !strings.HasSuffix(body, "\n") {
		b.WriteString("\r\n")
	}
	return []byte(b.String())
}
