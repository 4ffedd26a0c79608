package store

import (
	"fmt"
	"strings"
)

// ProfileChangesSince returns the saves of the profile after revision rev,
// oldest first, as the audit log recorded them (who, when, which fields):
// what a session that loaded revision rev has missed.
func (s *Store) ProfileChangesSince(domain string, rev int64) ([]AuditEntry, error) {
	entries, err := s.Audit(domain, 0)
	if err != nil {
		return nil, err
	}
	var out []AuditEntry
	for _, e := range entries { // newest first
		if e.Action != "profile.save" {
			continue
		}
		var n int64
		if _, err := fmt.Sscanf(e.Detail, "revision %d:", &n); err != nil {
			continue
		}
		if n <= rev {
			break
		}
		e.Detail = strings.TrimSpace(e.Detail[strings.Index(e.Detail, ":")+1:])
		out = append(out, e)
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out, nil
}
