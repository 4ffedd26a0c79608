package sandbox

import (
	"html/template"
	"net/http"

	"github.com/mailoauth/mailoauth/core"
)

// signinNotFound is mayConsent's answer for an address without a Google
// Account. Google shows no "Access blocked" error for it: the sign-in page
// stays open (HTTP 200) saying it could not find the account, nothing is
// ever sent to the redirect URI.
const signinNotFound = "signin_account_not_found"

var signinTmpl = template.Must(template.New("signin").Parse(`<!doctype html>
<html><head><meta charset="utf-8"><title>Sign in - Google Accounts</title></head>
<body>
<h1>Sign in</h1>
<p>to continue to {{.App}}</p>
<form method="get"><input type="email" name="identifier" value="{{.User}}" aria-invalid="true">
<div role="alert">{{.Error}}</div>
<a href="https://accounts.google.com/signup">Create account</a>
<button type="submit">Next</button></form>
</body></html>
`))

// signinPage is Google's sign-in page for an address it has no account for.
func (s *Sandbox) signinPage(w http.ResponseWriter, user string) {
	s.logf("sandbox: sign-in page: no account %s", user)
	s.mu.Lock()
	app := s.oauth.screen.AppName
	s.mu.Unlock()
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_ = signinTmpl.Execute(w, page{App: app, User: user, Error: core.AccountNotFoundText})
}
