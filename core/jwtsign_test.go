package core

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// TestSignAssertion: the assertion is an RS256 JWT Google accepts: the
// key ID in the header, iss, sub (and prn), scope, aud and a lifetime of
// at most an hour, signed by the key.
func TestSignAssertion(t *testing.T) {
	key := rsaKey(t)
	a, err := signAssertion(key, "kid123", "sa@p.iam.gserviceaccount.com", "user1@example.test", GoogleTokenURL, []string{ScopeMail, ScopeCalendar})
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(a, ".")
	if len(parts) != 3 {
		t.Fatalf("assertion %q is not a JWS", a)
	}
	sig, _ := base64.RawURLEncoding.DecodeString(parts[2])
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if err := rsa.VerifyPKCS1v15(&key.PublicKey, crypto.SHA256, sum[:], sig); err != nil {
		t.Fatalf("signature: %v", err)
	}
	var hdr struct{ Alg, Kid string }
	var cl struct {
		Iss, Sub, Prn, Scope, Aud string
		Iat, Exp                  int64
	}
	h, _ := base64.RawURLEncoding.DecodeString(parts[0])
	c, _ := base64.RawURLEncoding.DecodeString(parts[1])
	if json.Unmarshal(h, &hdr) != nil || json.Unmarshal(c, &cl) != nil {
		t.Fatalf("header %s claims %s", h, c)
	}
	now := time.Now().Unix()
	if hdr.Alg != "RS256" || hdr.Kid != "kid123" || cl.Iss != "sa@p.iam.gserviceaccount.com" || cl.Sub != "user1@example.test" ||
		cl.Prn != cl.Sub || cl.Scope != ScopeMail+" "+ScopeCalendar || cl.Aud != GoogleTokenURL ||
		cl.Iat > now+1 || cl.Iat < now-60 || cl.Exp-cl.Iat > 3600 || cl.Exp <= now {
		t.Fatalf("header %+v claims %+v", hdr, cl)
	}
}

// BenchmarkSignAssertion is the CPU floor of minting a token: one RSA-2048
// signature with the key parsed once.
func BenchmarkSignAssertion(b *testing.B) {
	key := rsaKey(b)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := signAssertion(key, "kid", "sa@p.iam.gserviceaccount.com", "user1@example.test", GoogleTokenURL, []string{ScopeMail}); err != nil {
			b.Fatal(err)
		}
	}
}
