package core

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"
	"time"
)

// randomID is 96 random bits in hex: no other message carries it, so what
// a search for it finds is the check's own message.
func randomID() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// roundtripHeader tags the round-trip test message, so the search for it
// finds nothing else.
const roundtripHeader = "X-Mailoauth-Test"

// roundtripMessage is the test message the round-trip check sends.
func roundtripMessage(mailbox, id string, now time.Time) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "From: <%s>\r\n", mailbox)
	fmt.Fprintf(&b, "To: <%s>\r\n", mailbox)
	fmt.Fprintf(&b, "Subject: mailoauth round-trip test %s\r\n", id)
	fmt.Fprintf(&b, "Date: %s\r\n", now.Format(time.RFC1123Z))
	fmt.Fprintf(&b, "Message-ID: <%s@mailoauth.invalid>\r\n", id)
	fmt.Fprintf(&b, "%s: %s\r\n", roundtripHeader, id)
	b.WriteString("MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n")
	b.WriteString("This message was sent by mailoauth to test that this mailbox can send and receive with OAuth 2.0.\r\n")
	b.WriteString("It is deleted automatically once it arrives; if you see it, the test did not finish.\r\n")
	return []byte(b.String())
}

// roundtrip sends the test message from the mailbox to itself and waits
// on the session's IMAP connection until it arrives, then deletes it.
func (s *session) roundtrip(ctx context.Context) (string, error) {
	if s.imap == nil || !s.imap.alive() {
		if err := s.imapLogin(ctx); err != nil {
			return "", err
		}
	}
	ic := s.imap
	ic.bind(ctx)
	id := randomID()

	start := time.Now()
	c, err := s.sendRoundtrip(ctx, id, start)
	if err != nil {
		return "", err
	}
	_ = c.c.Quit()
	c.close()

	wctx, cancel := context.WithTimeout(ctx, s.t.roundtripTimeout())
	defer cancel()
	uids, err := ic.waitFor(wctx, id)
	if err != nil {
		if ctx.Err() == nil && wctx.Err() != nil {
			return "", s.notDelivered()
		}
		return "", ctxErr(ctx, s.ep.IMAP, err)
	}
	latency := time.Since(start)
	if err := ic.delete(uids); err != nil {
		s.notes = append(s.notes, fmt.Sprintf("the round-trip test message (subject \"mailoauth round-trip test %s\") could not be deleted: %v", id, SafeText(redact(err.Error()))))
	}
	return fmt.Sprintf("delivered in %d ms", latency.Milliseconds()), nil
}

func (s *session) notDelivered() error {
	return &FindingError{Finding: roundtripNotDeliveredFinding(s.mailbox, s.ep.SMTP, s.ep.IMAP, s.t.roundtripTimeout())}
}
