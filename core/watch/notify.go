package watch

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/mailoauth/mailoauth/core"
)

// webhookTimeout bounds one webhook POST.
const webhookTimeout = 10 * time.Second

// postWebhook sends the alert as JSON to url, retrying twice on a network
// error or a 5xx answer.
func postWebhook(ctx context.Context, client *http.Client, url string, a Alert) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // the fixes' ">" stay readable
	if err := enc.Encode(a); err != nil {
		return err
	}
	body := buf.Bytes()
	var last error
	for attempt := range 3 {
		if attempt > 0 {
			select {
			case <-time.After(time.Duration(attempt) * time.Second):
			case <-ctx.Done():
				return last
			}
		}
		rctx, cancel := context.WithTimeout(ctx, webhookTimeout)
		req, err := http.NewRequestWithContext(rctx, http.MethodPost, url, bytes.NewReader(body))
		if err != nil {
			cancel()
			return err
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("User-Agent", "mailoauth-watch")
		resp, err := client.Do(req)
		if err != nil {
			cancel()
			last = err
			continue
		}
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
		resp.Body.Close()
		cancel()
		if resp.StatusCode < 300 {
			return nil
		}
		last = fmt.Errorf("the webhook %s answered HTTP %d", url, resp.StatusCode)
		if resp.StatusCode < 500 {
			return last
		}
	}
	return last
}

// alertSubject and alertBody are the alert e-mail.
func alertSubject(a Alert) string {
	who := a.Mailbox
	if who == "" {
		who = a.Profile
	}
	return fmt.Sprintf("[mailoauth] %s: %s %s (%s)", strings.ToUpper(string(a.State)), who, a.Check, a.Code)
}

func alertBody(a Alert) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Profile: %s\nMailbox: %s\nCheck:   %s\nState:   %s since %s\n\n", a.Profile, orDash(a.Mailbox), a.Check, a.State, a.Since.Format(time.RFC3339))
	fmt.Fprintf(&b, "[%s] %s\nFix: %s\n\n", a.Code, a.Summary, a.Fix)
	b.WriteString("Sent by mailoauth watch. `mailoauth history` shows each mailbox's recent checks.\n")
	return b.String()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// emailError is the one sentence the webhook and the log carry when the
// alert e-mail could not be sent.
func emailError(sender string, err error) string {
	if f := core.FindingOf(err); f != nil {
		return fmt.Sprintf("the alert e-mail could not be sent through the default sender %s: [%s] %s Fix: %s", sender, f.Code, f.Summary, f.Fix)
	}
	return fmt.Sprintf("the alert e-mail could not be sent through the default sender %s: %v", sender, err)
}

// deliver sends each alert, one at a time in order: the e-mail first (so
// the webhook can say when the sender itself is broken), then the webhook,
// and a log line.
func (w *Watcher) deliver(ch <-chan Alert) {
	defer w.alertsWG.Done()
	for a := range ch {
		ctx := context.Background()
		if w.opts.AlertEmail != "" {
			if err := w.sendEmail(ctx, a); err != nil {
				a.EmailError = emailError(w.senderOf(a.Profile), err)
				w.log.Error("alert e-mail not sent", "profile", a.Profile, "to", w.opts.AlertEmail, "err", a.EmailError)
			}
		}
		if w.opts.Webhook != "" {
			if err := postWebhook(ctx, w.opts.HTTPClient, w.opts.Webhook, a); err != nil {
				w.log.Error("alert webhook not delivered", "url", w.opts.Webhook, "err", err)
			}
		}
		lvl := slog.LevelWarn
		if a.State == StateRecovered {
			lvl = slog.LevelInfo
		}
		w.log.Log(ctx, lvl, "alert", "state", a.State, "profile", a.Profile, "mailbox", a.Mailbox, "check", a.Check,
			"code", a.Code, "since", a.Since.Format(time.RFC3339), "summary", a.Summary, "fix", a.Fix)
		w.metrics.alerts.WithLabelValues(string(a.State)).Inc()
		if w.opts.OnAlert != nil {
			w.opts.OnAlert(a)
		}
		w.pending.Done()
	}
}

func (w *Watcher) profileRunOf(domain string) *profileRun {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, pr := range w.profiles {
		if pr.p.Domain == domain {
			return pr
		}
	}
	return nil
}

func (w *Watcher) senderOf(domain string) string {
	if pr := w.profileRunOf(domain); pr != nil {
		return pr.p.DefaultSender
	}
	return "(none)"
}

// sendEmail mails the alert through the profile's default sender with
// mailoauth's own SMTP client and token.
func (w *Watcher) sendEmail(ctx context.Context, a Alert) error {
	pr := w.profileRunOf(a.Profile)
	if pr == nil || pr.tester == nil {
		return fmt.Errorf("profile %s has no working credential to send with", a.Profile)
	}
	msg := core.TextMessage(pr.p.DefaultSender, w.opts.AlertEmail, alertSubject(a), alertBody(a), w.clock.Now())
	return pr.tester.SendMessage(ctx, pr.p.DefaultSender, []string{w.opts.AlertEmail}, msg)
}
