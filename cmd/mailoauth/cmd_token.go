package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/mailoauth/mailoauth/core"
)

func runToken(ctx context.Context, a *app, args []string) error {
	fs := a.newFlags("token", "token ADDR [--format raw|xoauth2|oauthbearer|json]")
	format := fs.String("format", "raw", "raw (the bearer token), xoauth2 or oauthbearer (base64 SASL string), json")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("name one mailbox: mailoauth token user1@yourcompany.example")
	}
	switch *format {
	case "raw", "xoauth2", "oauthbearer", "json":
	default:
		return usagef("--format %q is not known; use raw, xoauth2, oauthbearer or json", *format)
	}
	st, err := a.openStore()
	if err != nil {
		return err
	}
	defer st.Close()
	p, err := a.currentProfile(st)
	if err != nil {
		return err
	}
	email, err := core.NormalizeMailbox(pos[0], p.Domain)
	if err != nil {
		return err
	}
	tester, err := core.NewTesterWith(&p, st.TokenCache(p.Domain), nil)
	if err != nil {
		return err
	}
	tctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	tok, cached, err := tester.Tokens.Token(tctx, email)
	if err != nil {
		return err
	}
	switch *format {
	case "raw":
		fmt.Fprintln(a.stdout, tok.AccessToken)
	case "xoauth2", "oauthbearer":
		_, ir, _ := core.NewOAuthSASLClient(strings.ToUpper(*format), email, tok.AccessToken).Start()
		fmt.Fprintln(a.stdout, base64.StdEncoding.EncodeToString(ir))
	case "json":
		return json.NewEncoder(a.stdout).Encode(map[string]any{
			"mailbox": email, "access_token": tok.AccessToken, "token_type": "Bearer",
			"expiry": tok.Expiry.UTC().Format(time.RFC3339), "expires_in": int(time.Until(tok.Expiry).Seconds()),
			"scopes": tok.Scopes, "cached": cached,
		})
	}
	return nil
}
