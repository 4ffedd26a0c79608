package tui

import "github.com/mailoauth/mailoauth/core"

// keyPolicyView is step 3's page about service-account key creation blocked
// by an organization policy: how to recognise it, the fix, and the OAuth
// client path that needs no key (core's text, as in `key inspect --help`).
func keyPolicyView(w *common, width int) string {
	s := w.styles
	out := w.title("Key creation blocked by an organization policy", core.KeyPolicyHint, width)
	for _, p := range core.KeyPolicyHelp {
		out += "\n\n" + s.Text.Render(wrap(p, width))
	}
	return out // the footer says how back: keys.Credentials.PolicyBack
}
