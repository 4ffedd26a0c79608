package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/mailoauth/mailoauth/core"
)

type exportFlags struct {
	format  string
	secrets bool
}

func (o *exportFlags) register(cmd *cobra.Command) {
	addChoiceFlag(cmd, &o.format, "format", "f", "json", "the output `FORMAT`: json, or env (KEY=value lines for a shell or a service file)", "json", "env")
	cmd.Flags().BoolVar(&o.secrets, "include-secrets", false, "include the service-account key itself (otherwise only its fingerprint)")
}

func runExport(_ context.Context, a *app, _ []string, o *exportFlags) error {
	if o.format != "json" && o.format != "env" {
		return usagef("--format %q is not known; use json or env", o.format)
	}
	st, p, boxes, err := a.openMailboxes()
	if err != nil {
		return err
	}
	defer st.Close()
	cred, err := p.LoadCredential()
	if err != nil {
		return err
	}
	cfg := exportConfig(p, cred, boxes, o.secrets)
	if a.dbPath != "" || os.Getenv("MAILOAUTH_DB") != "" {
		// the mail program runs elsewhere, maybe without MAILOAUTH_DB: it
		// must find this same store
		cfg.TokenCommand = "mailoauth --db " + shellQuote(st.Path()) + " token MAILBOX"
	}
	if o.format == "json" {
		return a.printJSON(cfg)
	}
	env := map[string]string{
		"MAILOAUTH_DOMAIN":         p.Domain,
		"MAILOAUTH_DEFAULT_SENDER": p.DefaultSender,
		"MAILOAUTH_IMAP_HOST":      cfg.IMAP.Host, "MAILOAUTH_IMAP_PORT": strconv.Itoa(cfg.IMAP.Port), "MAILOAUTH_IMAP_SECURITY": cfg.IMAP.Security,
		"MAILOAUTH_SMTP_HOST": cfg.SMTP.Host, "MAILOAUTH_SMTP_PORT": strconv.Itoa(cfg.SMTP.Port), "MAILOAUTH_SMTP_SECURITY": cfg.SMTP.Security,
		"MAILOAUTH_AUTH_MECHANISM": core.HostSettings(&p, cred).Mechanism, "MAILOAUTH_TOKEN_URL": cfg.TokenURL,
		"MAILOAUTH_SCOPES": strings.Join(cfg.Scopes, " "), "MAILOAUTH_CLIENT_ID": cred.ClientID,
		"MAILOAUTH_CLIENT_EMAIL": cred.ClientEmail, "MAILOAUTH_KEY_FINGERPRINT": cred.Fingerprint,
		"MAILOAUTH_MAILBOXES": strings.Join(cfg.mailboxEmails(), ","),
	}
	if cfg.AuthURL != "" {
		env["MAILOAUTH_AUTH_URL"], env["MAILOAUTH_CALLBACK_URL"] = cfg.AuthURL, cfg.RedirectURI
	}
	if cfg.ClientSecret != "" {
		env["MAILOAUTH_CLIENT_SECRET"] = cfg.ClientSecret
	}
	if o.secrets && cfg.ServiceAccountKey != nil {
		env["MAILOAUTH_SERVICE_ACCOUNT_JSON"] = string(cfg.ServiceAccountKey)
	}
	keys := make([]string, 0, len(env))
	for k := range env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(a.stdout, "%s=%s\n", k, shellQuote(env[k]))
	}
	return nil
}

type serverConfig struct {
	Host string `json:"host"`
	// Port is a number, as in the legacy setup's file
	Port     int    `json:"port"`
	Security string `json:"security"`
}

type exportedConfig struct {
	Domain        string           `json:"domain"`
	DefaultSender string           `json:"default_sender"`
	IMAP          serverConfig     `json:"imap"`
	SMTP          serverConfig     `json:"smtp"`
	Auth          string           `json:"authentication"`
	Username      string           `json:"username"`
	TokenURL      string           `json:"token_url"`
	Scopes        []string         `json:"scopes"`
	Credential    *core.Credential `json:"credential"`
	TokenCommand  string           `json:"token_command"`
	Mailboxes     []core.Mailbox   `json:"mailboxes"`
	// ServiceAccountKey is the key itself, only with --include-secrets.
	ServiceAccountKey json.RawMessage `json:"service_account_key,omitempty"`
	// The OAuth client path's fields, as Webex Connect and Creatio name
	// them: callback URL, authorization URL, access/refresh token URL, and
	// the client secret only with --include-secrets.
	RedirectURI     string `json:"callback_url,omitempty"`
	AuthURL         string `json:"authorization_url,omitempty"`
	RefreshTokenURL string `json:"refresh_token_url,omitempty"`
	ClientSecret    string `json:"client_secret,omitempty"`
}

func (c exportedConfig) mailboxEmails() []string {
	out := make([]string, len(c.Mailboxes))
	for i, m := range c.Mailboxes {
		out[i] = m.Email
	}
	return out
}

func exportConfig(p core.Profile, cred *core.Credential, boxes []core.Mailbox, secrets bool) exportedConfig {
	hs := core.HostSettings(&p, cred)
	server := func(h core.HostServer) serverConfig {
		return serverConfig{Host: h.Host, Port: h.Port, Security: h.Security}
	}
	if boxes == nil {
		boxes = []core.Mailbox{}
	}
	cfg := exportedConfig{Domain: p.Domain, DefaultSender: p.DefaultSender,
		IMAP: server(hs.IMAP), SMTP: server(hs.SMTP),
		Auth: hs.Auth, Username: hs.Username, TokenURL: hs.TokenURL,
		Scopes: hs.Scopes, Credential: cred, TokenCommand: "mailoauth token MAILBOX", Mailboxes: boxes}
	if secrets && cred.Kind == core.KindServiceAccount && json.Valid(p.Credential) {
		cfg.ServiceAccountKey = json.RawMessage(p.Credential)
	}
	if cred.Kind == core.KindOAuthClient {
		cfg.RedirectURI = hs.CallbackURL
		cfg.AuthURL, cfg.RefreshTokenURL = hs.AuthURL, cfg.TokenURL
		if secrets {
			cfg.ClientSecret = cred.ClientSecret
		}
	}
	return cfg
}

func shellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r == '.' || r == '@' || r == '-' || r == '_' || r == ':' || r == '/' || r == ',' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z')
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
