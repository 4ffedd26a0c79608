package sandbox

import (
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strings"

	"github.com/mailoauth/mailoauth/core"
)

// ---- consent page ----

var pageTmpl = template.Must(template.New("page").Parse(`<!doctype html>
<html><head><meta charset="utf-8"><title>{{.Title}}</title></head>
<body>
{{if .Error}}<h1>Access blocked: {{.App}}</h1>
<p>Error {{.Status}}: {{.Error}}</p>
<p>{{.Detail}}</p>
{{else}}<h1>Sign in with Google</h1>
<p><b>{{.App}}</b> wants to access your Google Account <b>{{.User}}</b></p>
<p>This will allow {{.App}} to:</p>
<ul>{{range .Scopes}}<li>{{.}}</li>{{end}}</ul>
<form method="post" action="{{.Action}}">
<input type="hidden" name="session" value="{{.Session}}">
<button type="submit" name="action" value="deny">Deny</button>
<button type="submit" name="action" value="allow">Allow</button>
</form>{{end}}
</body></html>
`))

type page struct {
	Title, App, User, Error, Detail, Session, Action string
	Status                                           int
	Scopes                                           []string
}

func scopeWords(sc string) string {
	switch sc {
	case core.ScopeMail:
		return "Read, compose, send, and permanently delete all your email from Gmail (" + sc + ")"
	case core.ScopeCalendar:
		return "See, edit, share, and permanently delete all the calendars you can access using Google Calendar (" + sc + ")"
	case core.ScopeContacts:
		return "See, edit, download, and permanently delete your contacts (" + sc + ")"
	}
	return sc
}

func (s *Sandbox) errorPage(w http.ResponseWriter, status int, code, detail string) {
	if code == signinNotFound {
		s.signinPage(w, detail)
		return
	}
	s.logf("sandbox: consent page error %d %s", status, code)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	s.mu.Lock()
	app := s.oauth.screen.AppName
	s.mu.Unlock()
	_ = pageTmpl.Execute(w, page{Title: fmt.Sprintf("Error %d: %s", status, code), App: app, Status: status, Error: code, Detail: detail})
}

func redirectWith(w http.ResponseWriter, r *http.Request, redirect string, v url.Values) {
	http.Redirect(w, r, withQuery(redirect, v), http.StatusFound)
}

// handleAuth is the consent page (GET auth_url) and its form (POST).
func (s *Sandbox) handleAuth(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodPost {
		s.handleApproval(w, r)
		return
	}
	req, refused := s.readAuthRequest(r.URL.Query())
	switch {
	case refused != nil && refused.redirect != nil:
		redirectWith(w, r, refused.redirectURI, refused.redirect)
		return
	case refused != nil:
		s.errorPage(w, refused.status, refused.code, refused.detail)
		return
	}
	s.mu.Lock()
	auto := s.oauth.autoConsent
	appName := s.oauth.screen.AppName
	s.mu.Unlock()
	if auto {
		s.approve(w, r, req)
		return
	}
	session := randHex(16)
	s.mu.Lock()
	s.oauth.pending[session] = req
	s.mu.Unlock()
	var words []string
	for _, sc := range req.scopes {
		words = append(words, scopeWords(sc))
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_ = pageTmpl.Execute(w, page{Title: "Sign in - Google Accounts", App: appName, User: req.user, Scopes: words, Session: session, Action: r.URL.Path})
}

// mayConsent applies the consent screen's rules to the signing-in user.
func (s *Sandbox) mayConsent(user string) (int, string, string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.users[user]
	at := strings.LastIndexByte(user, '@')
	switch {
	case user == "":
		return http.StatusBadRequest, core.OAuthInvalidRequest, "No account: the sandbox signs in the user named in login_hint."
	case u == nil && at > 0 && user[at+1:] == s.domain:
		return http.StatusOK, signinNotFound, user
	case (u == nil || !s.inDomain(u.email)) && s.oauth.screen.UserType == UserTypeInternal:
		return http.StatusForbidden, core.OAuthOrgInternal, s.oauth.screen.AppName + " is restricted to users within its organization."
	case u == nil:
		return http.StatusOK, signinNotFound, user
	case u.suspended:
		return http.StatusForbidden, core.OAuthAccessDenied, "This account has been suspended."
	case s.oauth.screen.UserType == UserTypeExternal && s.oauth.screen.PublishingStatus == PublishTesting && !s.oauth.testUsers[user]:
		return http.StatusForbidden, core.OAuthAccessDenied, s.oauth.screen.AppName + " has not completed the Google verification process. The app is currently being tested, and can only be accessed by developer-approved testers. If you think you should have access, contact the developer."
	}
	return 0, "", ""
}

func (s *Sandbox) handleApproval(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 1<<16)
	_ = r.ParseForm()
	s.mu.Lock()
	req := s.oauth.pending[r.PostForm.Get("session")]
	delete(s.oauth.pending, r.PostForm.Get("session"))
	expired := req != nil && !s.nowLocked().Before(req.expiry)
	s.mu.Unlock()
	if req == nil || expired {
		s.errorPage(w, http.StatusBadRequest, core.OAuthInvalidRequest, "This consent session has expired; start again.")
		return
	}
	if r.PostForm.Get("action") != "allow" {
		redirectWith(w, r, req.redirect, url.Values{"error": {core.OAuthAccessDenied}, "state": {req.state}})
		return
	}
	if status, code, detail := s.mayConsent(req.user); code != "" {
		s.errorPage(w, status, code, detail)
		return
	}
	s.approve(w, r, req)
}

// approve issues an authorization code and redirects with it.
func (s *Sandbox) approve(w http.ResponseWriter, r *http.Request, req *authRequest) {
	http.Redirect(w, r, s.issueCode(req), http.StatusFound)
}
