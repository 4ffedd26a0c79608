package main

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"software.sslmate.com/src/go-pkcs12"

	"github.com/mailoauth/mailoauth/core"
)

// p12Fixture writes a .p12 key shaped like Google's legacy ones: an RSA key
// and a self-signed certificate whose subject is the 40-hex key ID, under
// the password notasecret.
func p12Fixture(t *testing.T) (path, fingerprint string) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(0x5a17c0ffee),
		Subject:      pkix.Name{CommonName: "0123456789abcdef0123456789abcdef01234567"},
		NotBefore:    time.Date(2016, 3, 1, 12, 0, 0, 0, time.UTC),
		NotAfter:     time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC), // as Google sets for a key that never expires
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	data, err := pkcs12.Legacy.Encode(key, cert, nil, core.DefaultP12Password)
	if err != nil {
		t.Fatal(err)
	}
	path = filepath.Join(t.TempDir(), "legacy-key.p12")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path, core.PublicKeyFingerprint(&key.PublicKey)
}

// A valid .p12 key without --client-email/--client-id is described, not
// called invalid: its kind, fingerprint and certificate, exit 0, and which
// two values are still needed and where the Cloud console shows them.
func TestKeyInspectP12WithoutEmailOrClientID(t *testing.T) {
	p12, fp := p12Fixture(t)
	db := filepath.Join(t.TempDir(), "mailoauth.db")
	r := mailoauth(t, db, "key", "inspect", p12)
	if r.code != 0 || strings.Contains(r.stdout+r.stderr, "invalid_key") {
		t.Fatalf("key inspect of a valid .p12: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	for _, want := range []string{"legacy .p12", fp, "0123456789abcdef0123456789abcdef01234567", "serial 5A17C0FFEE",
		"valid 2016-03-01 to 9999-12-31", "--client-email", "--client-id", "host product and mailoauth",
		"IAM & Admin > Service accounts > (the account) > Email", "Unique ID", "OAuth 2 Client ID"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("key inspect output lacks %q:\n%s", want, r.stdout)
		}
	}
	if strings.Contains(r.stdout, "PRIVATE KEY") || strings.Contains(r.stdout, "admin.google.com/ac/owl") {
		t.Errorf("key inspect printed the key or a delegation link without a client ID:\n%s", r.stdout)
	}

	r = mailoauth(t, db, "key", "inspect", p12, "--json")
	var out struct {
		OK          bool
		Certificate *core.CertificateInfo
		Missing     []core.MissingValue
	}
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil || r.code != 0 || !out.OK {
		t.Fatalf("key inspect --json: exit %d %v\n%s%s", r.code, err, r.stdout, r.stderr)
	}
	if out.Certificate == nil || out.Certificate.Serial != "5A17C0FFEE" || len(out.Missing) != 2 ||
		out.Missing[0].Flag != "--client-email" || out.Missing[1].Flag != "--client-id" {
		t.Fatalf("key inspect --json: %s", r.stdout)
	}

	// With both values it is a complete key, ready for delegation.
	r = mailoauth(t, db, "key", "inspect", p12, "--client-email", "mailer@project.iam.gserviceaccount.com", "--client-id", "104715287395062714451")
	if r.code != 0 || !strings.Contains(r.stdout, "can do domain-wide delegation") || strings.Contains(r.stdout, "holds neither") || strings.Contains(r.stdout, "(expired)") {
		t.Fatalf("key inspect with e-mail and client ID: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	// A wrong password is still invalid_key, and setup still needs both values.
	if r = mailoauth(t, db, "key", "inspect", p12, "--p12-password", "wrong"); r.code == 0 || !strings.Contains(r.stdout+r.stderr, "password is wrong") {
		t.Fatalf("wrong .p12 password: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if r = mailoauth(t, db, "setup", "--domain", "example.test", "--sender", "admin@example.test", "--key", p12); r.code == 0 || !strings.Contains(r.stdout+r.stderr, "service-account e-mail") {
		t.Fatalf("setup with a .p12 and no e-mail: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}
