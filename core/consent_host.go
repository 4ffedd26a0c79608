package core

// callbackURL is the redirect URI of an OAuth client profile as a host
// product (Webex Connect, Creatio) and the Cloud console name it: the
// profile's own (the host product's callback), else the client's first
// loopback one, else the first one it lists.
func callbackURL(p *Profile, c *Credential) string {
	u := ConsentRedirectURI(p, c, false)
	if !IsLoopbackURI(u) && p.RedirectURI == "" {
		u = ConsentRedirectURI(p, c, true)
	}
	return u
}
