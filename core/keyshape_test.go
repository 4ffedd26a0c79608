package core

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"strings"
	"testing"
	"time"

	"software.sslmate.com/src/go-pkcs12"
)

// goTypeNames are what a message must never show: Go's own type names.
var goTypeNames = []string{"Go value", "Go struct", "struct {", "[]string", "core.", "json.RawMessage", "[]core"}

func noGoTypes(t *testing.T, what string, err error) {
	t.Helper()
	for _, g := range goTypeNames {
		if err != nil && strings.Contains(err.Error(), g) {
			t.Errorf("%s: the message shows a Go type (%q): %v", what, g, err)
		}
	}
}

// Issue 15 item 10: misleading messages for files that are not key files.
func TestKeyFileMessagesSayWhatTheFileIs(t *testing.T) {
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	pkcs8, _ := x509.MarshalPKCS8PrivateKey(ec)
	sec1, _ := x509.MarshalECPrivateKey(ec)
	ecJSON := func(typ string, der []byte) []byte {
		return serviceAccountJSON(t, func(m map[string]any) {
			m["private_key"] = string(pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}))
		})
	}
	small, err := os.ReadFile("testdata/rsa512.pem") // Go will not generate one
	if err != nil {
		t.Fatal(err)
	}
	k1024, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	der1024 := x509.MarshalPKCS1PrivateKey(k1024)
	cases := []struct {
		name string
		data []byte
		want []string
	}{
		{"a JSON list", []byte("[1,2,3]"), []string{"The file is JSON, but a list, not a key file"}},
		{"a JSON string", []byte(`"key"`), []string{"The file is JSON, but a string, not a key file"}},
		{"EC key (PKCS#8) in the JSON", ecJSON("PRIVATE KEY", pkcs8), []string{"holds an EC (elliptic-curve) private key", "Google's service-account keys are RSA"}},
		{"EC key (SEC 1) in the JSON", ecJSON("EC PRIVATE KEY", sec1), []string{"holds an EC (elliptic-curve) private key"}},
		{"a bare EC PEM", pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: sec1}), []string{"bare PEM key", "EC (elliptic-curve)"}},
		{"web is a string", []byte(`{"web":"oops"}`), []string{`"web" section`, "it is a string, not an object"}},
		{"client_id is a number", []byte(`{"installed":{"client_id":5}}`), []string{`"installed" section`, `"client_id" is a JSON number where a string is expected`}},
		{"512-bit RSA", serviceAccountJSON(t, func(m map[string]any) { m["private_key"] = string(small) }), []string{"a 512-bit RSA key", "under 2048 bits can be broken"}},
		{"1024-bit RSA", serviceAccountJSON(t, func(m map[string]any) {
			m["private_key"] = string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: der1024}))
		}), []string{"a 1024-bit RSA key"}},
		{"1024-bit RSA in a .p12", p12With(t, k1024, DefaultP12Password), []string{"The .p12 file holds a 1024-bit RSA key"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ParseCredential(c.data, CredentialOptions{ClientEmail: "mailer@acme-mail.iam.gserviceaccount.com", ClientID: "104715287395062714451"})
			if codeOf(err) != CodeInvalidKey {
				t.Fatalf("got %v, want invalid_key", err)
			}
			oneSentence(t, err, c.want...)
			noGoTypes(t, c.name, err)
			for _, bad := range []string{"neither JSON nor", "damaged on the way", "malformed"} {
				if strings.Contains(err.Error(), bad) {
					t.Errorf("still the misleading %q: %v", bad, err)
				}
			}
		})
	}
	// a 2048-bit key is fine
	if _, err := ParseCredential(serviceAccountJSON(t, nil), CredentialOptions{}); err != nil {
		t.Fatal(err)
	}
}

// p12With is a .p12 file of k with a self-signed certificate, as Google's.
func p12With(t testing.TB, k crypto.Signer, password string) []byte {
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "0123456789abcdef0123456789abcdef01234567"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, k.Public(), k)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	data, err := pkcs12.Legacy.Encode(k, cert, nil, password)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestLegacyAndEndpointsErrorsShowNoGoTypes(t *testing.T) {
	for _, in := range []string{`{"mailboxes":"x"}`, `{"domain":5}`, `{"imap":{"port":"993"}}`, `[1]`, `{"mailboxes":[{"email":1}]}`} {
		_, err := parseLegacy([]byte(in), "legacy.json")
		if err == nil {
			t.Fatalf("%s accepted", in)
		}
		noGoTypes(t, "legacy "+in, err)
	}
	_, err := parseLegacy([]byte(`{"mailboxes":"x"}`), "legacy.json")
	if !strings.Contains(err.Error(), `"mailboxes" is a JSON string where a list is expected`) {
		t.Errorf("legacy: %v", err)
	}
	for _, in := range []string{`{"imap":5}`, `{"ca_file":["a"]}`, `"x"`} {
		_, err := parseEndpoints([]byte(in), "endpoints.json")
		if err == nil {
			t.Fatalf("%s accepted", in)
		}
		noGoTypes(t, "endpoints "+in, err)
	}
}

// A .p12 that asks for millions of key-derivation rounds kept a CPU busy
// for an hour (found by FuzzParseCredential); it is refused before any.
func TestP12WithTooManyRoundsIsRefusedAtOnce(t *testing.T) {
	k := rsaKey(t)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	for _, enc := range []*pkcs12.Encoder{pkcs12.LegacyRC2, pkcs12.Modern} {
		// Encoding with millions of rounds would take as long as opening:
		// encode with 65536 (INTEGER 01 00 00) and patch it to 8388607.
		data, err := enc.WithIterations(1<<16).Encode(k, cert, nil, DefaultP12Password)
		if err != nil {
			t.Fatal(err)
		}
		data = bytes.ReplaceAll(data, []byte{0x02, 0x03, 0x01, 0x00, 0x00}, []byte{0x02, 0x03, 0x7f, 0xff, 0xff})
		_, err = ParseCredential(data, CredentialOptions{ClientEmail: "mailer@p.iam.gserviceaccount.com", ClientID: "104715287395062714451"})
		oneSentence(t, err, "The .p12 file asks for 8388607 key-derivation rounds")
		ok, err := enc.WithIterations(2048).Encode(k, cert, nil, DefaultP12Password)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ParseCredential(ok, CredentialOptions{ClientEmail: "mailer@p.iam.gserviceaccount.com", ClientID: "104715287395062714451"}); err != nil {
			t.Fatalf("2048 rounds: %v", err)
		}
	}
}
