package sandbox

import (
	"time"

	"github.com/emersion/go-imap/v2/imapserver"
)

// idleRepoll is how often an IDLE session looks for mail its wake-up missed.
const idleRepoll = 200 * time.Millisecond

// Idle reports new mail as Gmail's IDLE does. go-imap's session tracker
// (v2.0.0-beta.8) queues mail that lands between "+ idling" and the start of
// its idle loop without waking that loop, so such a message stayed unseen
// until the next one arrived; Gmail and Dovecot report it. The loop is
// therefore restarted every idleRepoll with a poll in between, which flushes
// anything queued while no wake-up was registered.
func (sess *imapSession) Idle(w *imapserver.UpdateWriter, stop <-chan struct{}) error {
	for {
		if err := sess.UserSession.Poll(w, true); err != nil {
			return err
		}
		round, done := make(chan struct{}), make(chan struct{})
		tick := time.NewTimer(idleRepoll)
		go func() {
			defer close(round)
			select {
			case <-stop:
			case <-tick.C:
			case <-done:
			}
		}()
		err := sess.UserSession.Idle(w, round)
		tick.Stop()
		close(done)
		if err != nil {
			return err
		}
		select {
		case <-stop:
			return nil
		default:
		}
	}
}
