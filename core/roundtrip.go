package core

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/emersion/go-imap/v2"
)

func randomID() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// RoundtripMessage is the test message the round-trip check sends.
func RoundtripMessage(mailbox, id string, now time.Time) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "From: <%s>\r\n", mailbox)
	fmt.Fprintf(&b, "To: <%s>\r\n", mailbox)
	fmt.Fprintf(&b, "Subject: mailoauth round-trip test %s\r\n", id)
	fmt.Fprintf(&b, "Date: %s\r\n", now.Format(time.RFC1123Z))
	fmt.Fprintf(&b, "Message-ID: <%s@mailoauth.invalid>\r\n", id)
	fmt.Fprintf(&b, "%s: %s\r\n", RoundtripHeader, id)
	b.WriteString("MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n")
	b.WriteString("This message was sent by mailoauth to test that this mailbox can send and receive with OAuth 2.0.\r\n")
	b.WriteString("It is deleted automatically once it arrives; if you see it, the test did not finish.\r\n")
	return []byte(b.String())
}

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

func (s *session) send(c *smtpConn, id string, now time.Time) error {
	if err := c.c.Mail(s.mailbox, nil); err != nil {
		return err
	}
	if err := c.c.Rcpt(s.mailbox, nil); err != nil {
		return err
	}
	w, err := c.c.Data()
	if err != nil {
		return err
	}
	if _, err := w.Write(RoundtripMessage(s.mailbox, id, now)); err != nil {
		w.Close()
		return err
	}
	return w.Close()
}

// waitFor waits until the message tagged id is in the selected mailbox,
// with IDLE when the server has it, else by polling every 500 ms.
func (ic *imapConn) waitFor(ctx context.Context, id string) ([]imap.UID, error) {
	// The tag header, or the Message-ID, which every server indexes.
	criteria := &imap.SearchCriteria{Or: [][2]imap.SearchCriteria{{
		{Header: []imap.SearchCriteriaHeaderField{{Key: RoundtripHeader, Value: id}}},
		{Header: []imap.SearchCriteriaHeaderField{{Key: "Message-ID", Value: "<" + id + "@mailoauth.invalid>"}}},
	}}}
	useIdle := ic.c.Caps().Has(imap.CapIdle)
	for {
		data, err := ic.c.UIDSearch(criteria, nil).Wait()
		if err != nil {
			return nil, err
		}
		if uids := data.AllUIDs(); len(uids) > 0 {
			return uids, nil
		}
		if useIdle {
			idle, err := ic.c.Idle()
			if err != nil {
				if ctx.Err() != nil {
					return nil, ctx.Err()
				}
				useIdle = false
				continue
			}
			select {
			case <-ic.notify:
			case <-time.After(2 * time.Second):
			case <-ctx.Done():
			}
			cerr := idle.Close()
			if cerr == nil {
				cerr = idle.Wait()
			}
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			if cerr != nil {
				return nil, cerr
			}
			continue
		}
		select {
		case <-time.After(500 * time.Millisecond):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

func (ic *imapConn) delete(uids []imap.UID) error {
	set := imap.UIDSetNum(uids...)
	store := ic.c.Store(set, &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{imap.FlagDeleted}}, nil)
	if ic.c.Caps().Has(imap.CapUIDPlus) {
		// Pipelined: one round trip. UID EXPUNGE removes only messages of
		// the set already flagged \Deleted, so it is harmless if STORE fails.
		expunge := ic.c.UIDExpunge(set)
		if err := store.Close(); err != nil {
			_ = expunge.Close()
			return err
		}
		return expunge.Close()
	}
	if err := store.Close(); err != nil {
		return err
	}
	// A plain EXPUNGE would also remove whatever else the user marked
	// deleted; without UIDPLUS the test message stays flagged instead.
	return nil
}
