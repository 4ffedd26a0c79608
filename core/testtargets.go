package core

import "strings"

// TestTargets is the list of mailboxes a test checks, the same for
// `mailoauth test` and the wizard's test step: with all, the default sender
// and then every assigned mailbox; then the picked ones; nothing at all
// means the default sender. Each address appears once (case-insensitively),
// in that order. picked are addresses already through the profile's
// mailbox rule.
func TestTargets(p *Profile, boxes []Mailbox, all bool, picked []string) []string {
	var in []string
	if all {
		in = append(in, p.DefaultSender)
		for _, m := range boxes {
			in = append(in, m.Email)
		}
	}
	in = append(in, picked...)
	if len(in) == 0 {
		in = []string{p.DefaultSender}
	}
	seen := map[string]bool{}
	out := make([]string, 0, len(in))
	for _, m := range in {
		k := strings.ToLower(strings.TrimSpace(m))
		if k == "" || seen[k] {
			continue
		}
		seen[k] = true
		out = append(out, strings.TrimSpace(m))
	}
	return out
}
