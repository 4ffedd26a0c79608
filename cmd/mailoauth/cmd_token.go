package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/mailoauth/mailoauth/core"
	"github.com/mailoauth/mailoauth/core/mailproto"
	"github.com/mailoauth/mailoauth/store"
)

type tokenFlags struct {
	format string
}

func (o *tokenFlags) register(cmd *cobra.Command) {
	addChoiceFlag(cmd, &o.format, "format", "f", "raw", "the output `FORMAT`: raw (the bearer token), xoauth2 or oauthbearer (base64 SASL string), json",
		"raw", "xoauth2", "oauthbearer", "json")
}

// runToken prints a valid access token for a mailbox: the `passwordeval` /
// `PassCmd` / `--oauth2-bearer` helper of mail programs. Its contract with
// them: nothing but the token (and a newline) on stdout, any error as one
// sentence on stderr and a non-zero exit. A cached token is served from a
// read-only open of the store, without any network call, so many mail
// programs can ask at once and each answer takes milliseconds; only when
// the cache has no usable token is the store opened for writing and a
// token minted (or refreshed) and cached.
func runToken(ctx context.Context, a *app, pos []string, o *tokenFlags) error {
	switch o.format {
	case "raw", "xoauth2", "oauthbearer", "json":
	default:
		return usagef("--format %q is not known; use raw, xoauth2, oauthbearer or json", o.format)
	}
	tok, email, ok, err := cachedToken(a, pos[0])
	if err != nil {
		return err
	}
	if ok {
		return printToken(a, o.format, email, tok, true)
	}
	st, err := a.openExisting()
	if err != nil {
		return err
	}
	defer st.Close()
	tester, email, err := tokenTester(a, st, pos[0])
	if err != nil {
		return err
	}
	tctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	tok, cached, err := tester.Tokens.Token(tctx, email)
	if err != nil {
		return err
	}
	return printToken(a, o.format, email, tok, cached)
}

// tokenTester builds the engine's token provider for the mailbox from the
// store's current profile.
func tokenTester(a *app, st *store.Store, mailbox string) (*core.Tester, string, error) {
	p, err := a.currentProfile(st, mailbox)
	if err != nil {
		return nil, "", err
	}
	email, err := p.MailboxRule().Address(mailbox)
	if err != nil {
		return nil, "", err
	}
	tester, err := core.NewTesterWith(&p, st.TokenCache(p.Domain), nil)
	if err != nil {
		return nil, "", err
	}
	return tester, email, nil
}

// cachedToken is the fast path: the store opened read-only (a shared lock,
// no migration, no write) and a usable cached token. Any problem, including
// no usable token, sends the caller to the full path, which reports it;
// except a store that is busy, missing or damaged: the full path would
// only wait for the lock again (a second lock wait: twice the documented
// 1.5 s before exit 3) and end the same way.
func cachedToken(a *app, mailbox string) (core.Token, string, bool, error) {
	st, err := store.Open(a.storePath(), storeOptions(store.Options{ReadOnly: true}))
	if errors.Is(err, store.ErrLocked) || errors.Is(err, store.ErrNoStore) || errors.Is(err, store.ErrDamaged) {
		return core.Token{}, "", false, err
	}
	if err != nil {
		return core.Token{}, "", false, nil
	}
	defer st.Close()
	tester, email, err := tokenTester(a, st, mailbox)
	if err != nil {
		return core.Token{}, "", false, nil
	}
	// The engine's own rule for a cached token (TokenProvider.Token): the
	// same cache, the same scope set, Usable until TokenRenewBefore.
	tp := tester.Tokens
	tok, ok, err := tp.Cache.LoadToken(email, tp.Scopes)
	if err != nil || !ok || !tok.Usable(time.Now()) {
		return core.Token{}, "", false, nil
	}
	return tok, email, true, nil
}

func printToken(a *app, format, email string, tok core.Token, cached bool) error {
	var err error
	switch format {
	case "raw":
		_, err = fmt.Fprintln(a.stdout, tok.AccessToken)
	case "xoauth2", "oauthbearer":
		_, ir, _ := mailproto.NewOAuthClient(strings.ToUpper(format), email, tok.AccessToken).Start()
		_, err = fmt.Fprintln(a.stdout, base64.StdEncoding.EncodeToString(ir))
	case "json":
		err = json.NewEncoder(a.stdout).Encode(map[string]any{
			"mailbox": email, "access_token": tok.AccessToken, "token_type": "Bearer",
			"expiry": tok.Expiry.UTC().Format(time.RFC3339), "expires_in": int(time.Until(tok.Expiry).Seconds()),
			"scopes": tok.Scopes, "cached": cached,
		})
	}
	if err != nil {
		// A closed pipe: the mail program got no token and must know.
		return &core.InputError{Msg: fmt.Sprintf("cannot write the token to standard output: %v", err), Env: true}
	}
	return nil
}
