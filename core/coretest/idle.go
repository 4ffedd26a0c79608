package coretest

import (
	"testing"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// MailboxSizes returns a handler for imapclient.Options that sends each
// message count the server reports for the selected mailbox (EXISTS) to the
// channel it returns. The channel holds 16 counts; a 17th blocks the
// client's reader until the test takes one.
func MailboxSizes() (*imapclient.UnilateralDataHandler, <-chan uint32) {
	sizes := make(chan uint32, 16)
	return &imapclient.UnilateralDataHandler{Mailbox: func(d *imapclient.UnilateralDataMailbox) {
		if d.NumMessages != nil {
			sizes <- *d.NumMessages
		}
	}}, sizes
}

// IdleInbox selects INBOX on c, which is logged in, and starts IDLE; it
// returns what SELECT reported and the IDLE command.
func IdleInbox(t testing.TB, c *imapclient.Client) (*imap.SelectData, *imapclient.IdleCommand) {
	t.Helper()
	sel, err := c.Select("INBOX", nil).Wait()
	if err != nil {
		t.Fatal(err)
	}
	idle, err := c.Idle()
	if err != nil {
		t.Fatal(err)
	}
	return sel, idle
}

// StopIdle ends idle and waits for the server to close it.
func StopIdle(t testing.TB, idle *imapclient.IdleCommand) {
	t.Helper()
	if err := idle.Close(); err != nil {
		t.Fatal(err)
	}
	if err := idle.Wait(); err != nil {
		t.Fatal(err)
	}
}
