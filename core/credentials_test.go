package core

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"strings"
	"sync"
	"testing"
)

var (
	testKeyOnce sync.Once
	testKey     *rsa.PrivateKey
)

func rsaKey(t testing.TB) *rsa.PrivateKey {
	testKeyOnce.Do(func() {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			t.Fatal(err)
		}
		testKey = k
	})
	return testKey
}

func serviceAccountJSON(t testing.TB, mutate func(m map[string]any)) []byte {
	der, err := x509.MarshalPKCS8PrivateKey(rsaKey(t))
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]any{
		"type": "service_account", "project_id": "acme-mail", "private_key_id": "0123456789abcdef0123456789abcdef01234567",
		"private_key":  string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
		"client_email": "mailer@acme-mail.iam.gserviceaccount.com", "client_id": "104715287395062714451",
		"auth_uri": "https://accounts.google.com/o/oauth2/auth", "token_uri": "https://oauth2.googleapis.com/token",
		"universe_domain": "googleapis.com",
	}
	if mutate != nil {
		mutate(m)
	}
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func codeOf(err error) Code {
	if f := FindingOf(err); f != nil {
		return f.Code
	}
	return ""
}

func TestParseServiceAccountAsGoogleWritesIt(t *testing.T) {
	raw := serviceAccountJSON(t, nil)
	for name, data := range map[string][]byte{
		"plain": raw,
		"bom":   append([]byte("\xef\xbb\xbf"), raw...),
		"crlf":  []byte(strings.ReplaceAll(string(raw), "\n", "\r\n")),
	} {
		c, err := ParseCredential(data, CredentialOptions{})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if c.Kind != KindServiceAccount || c.ClientID != "104715287395062714451" || c.ClientEmail != "mailer@acme-mail.iam.gserviceaccount.com" ||
			c.ProjectID != "acme-mail" || c.PrivateKeyID != "0123456789abcdef0123456789abcdef01234567" {
			t.Fatalf("%s: wrong fields %+v", name, c)
		}
		if !strings.HasPrefix(c.Fingerprint, "SHA256:") || c.Fingerprint != PublicKeyFingerprint(&rsaKey(t).PublicKey) {
			t.Fatalf("%s: fingerprint %q", name, c.Fingerprint)
		}
		out, _ := json.Marshal(c)
		if strings.Contains(string(out), "PRIVATE KEY") || strings.Contains(string(out), "MII") {
			t.Fatalf("%s: JSON of a credential leaks the private key: %s", name, out)
		}
	}
}

func TestMalformedKeysNameTheFieldAndTheFix(t *testing.T) {
	raw := serviceAccountJSON(t, nil)
	cases := []struct {
		name string
		data []byte
		want []string
	}{
		{"empty", nil, []string{"empty"}},
		{"truncated", raw[:len(raw)/2], []string{"truncated"}},
		{"not json", []byte("hello world"), []string{"neither JSON"}},
		{"pem pasted", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte{1, 2, 3}}), []string{"bare PEM"}},
		{"missing client_email", serviceAccountJSON(t, func(m map[string]any) { delete(m, "client_email") }), []string{`"client_email"`}},
		{"missing client_id", serviceAccountJSON(t, func(m map[string]any) { delete(m, "client_id") }), []string{`"client_id"`}},
		{"mangled private_key", serviceAccountJSON(t, func(m map[string]any) {
			m["private_key"] = strings.Replace(m["private_key"].(string), "M", "#", 5)
		}), []string{"private_key"}},
		{"no pem in private_key", serviceAccountJSON(t, func(m map[string]any) { m["private_key"] = "abc" }), []string{"private_key", "not a PEM"}},
		{"email client_id", serviceAccountJSON(t, func(m map[string]any) { m["client_id"] = "mailer@x" }), []string{"client_id", "numeric"}},
	}
	for _, tc := range cases {
		_, err := ParseCredential(tc.data, CredentialOptions{})
		if err == nil {
			t.Fatalf("%s: accepted", tc.name)
		}
		if codeOf(err) != CodeInvalidKey {
			t.Fatalf("%s: code %q, want invalid_key (%v)", tc.name, codeOf(err), err)
		}
		f := FindingOf(err)
		for _, w := range tc.want {
			if !strings.Contains(f.Summary, w) {
				t.Errorf("%s: summary %q does not mention %q", tc.name, f.Summary, w)
			}
		}
		if f.Fix == "" || strings.Contains(err.Error(), "MII") {
			t.Errorf("%s: no fix, or the error shows key material: %v", tc.name, err)
		}
	}
}

func TestOtherCredentialKindsAreRecognisedAndRedirected(t *testing.T) {
	web := []byte(`{"web":{"client_id":"123-abc.apps.googleusercontent.com","client_secret":"GOCSPX-x","project_id":"p","redirect_uris":["https://host/cb"]}}`)
	c, err := ParseCredential(web, CredentialOptions{})
	if err != nil || c.Kind != KindOAuthClient || c.ClientType != "web" {
		t.Fatalf("web client: %+v %v", c, err)
	}
	err = c.RequireServiceAccount()
	if codeOf(err) != CodeWrongCredentialType || !strings.Contains(err.Error(), "setup --client") {
		t.Fatalf("web client as service account: %v", err)
	}
	inst := []byte(`{"installed":{"client_id":"123-abc.apps.googleusercontent.com","client_secret":"s"}}`)
	if c, err := ParseCredential(inst, CredentialOptions{}); err != nil || c.ClientType != "installed" {
		t.Fatalf("installed client: %+v %v", c, err)
	}
	au := []byte(`{"type":"authorized_user","client_id":"x","client_secret":"y","refresh_token":"z"}`)
	c, err = ParseCredential(au, CredentialOptions{})
	if err != nil || c.Kind != KindAuthorizedUser {
		t.Fatalf("authorized_user: %+v %v", c, err)
	}
	if codeOf(c.RequireServiceAccount()) != CodeWrongCredentialType {
		t.Fatal("authorized_user accepted as a service account")
	}
	if _, err := ParseCredential([]byte(`{"type":"external_account"}`), CredentialOptions{}); codeOf(err) != CodeWrongCredentialType {
		t.Fatalf("external_account: %v", err)
	}
}

func p12(t *testing.T, password string) []byte { return p12With(t, rsaKey(t), password) }

func TestP12Keys(t *testing.T) {
	data := p12(t, DefaultP12Password)
	c, err := ParseCredential(data, CredentialOptions{ClientEmail: "mailer@acme-mail.iam.gserviceaccount.com", ClientID: "104715287395062714451"})
	if err != nil {
		t.Fatal(err)
	}
	if c.Kind != KindServiceAccountP12 || c.PrivateKeyID != "0123456789abcdef0123456789abcdef01234567" || c.Fingerprint != PublicKeyFingerprint(&rsaKey(t).PublicKey) {
		t.Fatalf("p12: %+v", c)
	}
	_, err = ParseCredential(data, CredentialOptions{P12Password: "wrong", ClientEmail: "a@b.c", ClientID: "104715287395062714451"})
	if codeOf(err) != CodeInvalidKey || !strings.Contains(err.Error(), "password") || !strings.Contains(err.Error(), "notasecret") {
		t.Fatalf("wrong password: %v", err)
	}
	_, err = ParseCredential(data, CredentialOptions{ClientID: "104715287395062714451"})
	if err == nil || !strings.Contains(err.Error(), "--client-email") {
		t.Fatalf("p12 without e-mail: %v", err)
	}
	_, err = ParseCredential(data, CredentialOptions{ClientEmail: "mailer@acme-mail.iam.gserviceaccount.com"})
	if err == nil || !strings.Contains(err.Error(), "--client-id") {
		t.Fatalf("p12 without client ID: %v", err)
	}
	_, err = ParseCredential(data[:len(data)/2], CredentialOptions{ClientEmail: "a@b.c", ClientID: "104715287395062714451"})
	if codeOf(err) != CodeInvalidKey {
		t.Fatalf("truncated p12: %v", err)
	}
}

func TestTokenURIAndEndpointsNeverSendSecretsInClear(t *testing.T) {
	_, err := ParseCredential(serviceAccountJSON(t, func(m map[string]any) { m["token_uri"] = "http://tokens.example.com/token" }), CredentialOptions{})
	if codeOf(err) != CodeInvalidKey || !strings.Contains(err.Error(), "clear text") {
		t.Fatalf("plain-http token_uri to another machine: %v", err)
	}
	if _, err := ParseCredential(serviceAccountJSON(t, func(m map[string]any) { m["token_uri"] = "http://127.0.0.1:8080/token" }), CredentialOptions{}); err != nil {
		t.Fatalf("a loopback token_uri (the sandbox) must load: %v", err)
	}
	if _, err := parseEndpoints([]byte(`{"token_url":"http://10.1.2.3/token"}`), "ep.json"); err == nil || !strings.Contains(err.Error(), "token_url") {
		t.Fatalf("plain-http token_url to another machine: %v", err)
	}
	if _, err := parseEndpoints([]byte(`{"tokeninfo_url":"http://[::1]:9/tokeninfo","auth_url":"https://accounts.example/auth"}`), "ep.json"); err != nil {
		t.Fatalf("loopback http and https must load: %v", err)
	}
}
