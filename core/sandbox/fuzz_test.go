package sandbox

import (
	"strings"
	"testing"

	"github.com/mailoauth/mailoauth/core/mailproto"
)

// FuzzProtocolInput feeds the parsers the sandbox reads client input with: the
// XOAUTH2 / OAUTHBEARER response and the SMTP MAIL FROM / RCPT TO path.
func FuzzProtocolInput(f *testing.F) {
	f.Add("user=a@example.test\x01auth=Bearer ya29.tok\x01\x01", true)
	f.Add("n,a=a@example.test,\x01host=x\x01port=993\x01auth=Bearer t\x01\x01", false)
	f.Add("FROM:<a@example.test> SIZE=10", true)
	f.Add("TO:<>", false)
	f.Fuzz(func(t *testing.T, in string, xoauth2 bool) {
		mech := mailproto.OAUTHBEARER
		if xoauth2 {
			mech = mailproto.XOAUTH2
		}
		user, tok, ok := mailproto.ParseOAuthResponse(mech, []byte(in))
		if ok && (user == "" || tok == "") {
			t.Fatalf("ok with user %q token %q", user, tok)
		}
		for _, prefix := range []string{"FROM:", "TO:"} {
			if addr, ok := pathArg(in, prefix); ok && !strings.Contains(in, "<"+addr+">") {
				t.Fatalf("pathArg(%q) = %q, not the text between < and >", in, addr)
			}
		}
	})
}
