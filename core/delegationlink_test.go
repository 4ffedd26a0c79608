package core

import "testing"

func TestDelegationLinkIsExact(t *testing.T) {
	for _, c := range []struct {
		id     string
		scopes []string
		want   string
	}{
		{"104715287395062714451", nil,
			"https://admin.google.com/ac/owl/domainwidedelegation?clientIdToAdd=104715287395062714451&clientScopeToAdd=https%3A%2F%2Fmail.google.com%2F&overwriteClientId=true"},
		{"104715287395062714451", []string{ScopeMail, ScopeCalendar},
			"https://admin.google.com/ac/owl/domainwidedelegation?clientIdToAdd=104715287395062714451&clientScopeToAdd=https%3A%2F%2Fmail.google.com%2F%2Chttps%3A%2F%2Fwww.googleapis.com%2Fauth%2Fcalendar&overwriteClientId=true"},
	} {
		if got := DelegationLink(c.id, c.scopes); got != c.want {
			t.Errorf("DelegationLink(%s, %v) =\n %s\nwant\n %s", c.id, c.scopes, got, c.want)
		}
	}
}
