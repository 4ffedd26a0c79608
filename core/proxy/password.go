package proxy

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"strings"

	"golang.org/x/crypto/argon2"
)

// The argon2id parameters of new hashes (RFC 9106's second recommendation,
// scaled to OWASP's minimum memory so that a few logins at once fit a small
// host): 19 MiB, 2 passes, 1 lane, 16-byte salt, 32-byte key. Verification
// reads the parameters from the hash, so they can be raised later.
const (
	argonMemory  = 19 * 1024
	argonTime    = 2
	argonThreads = 1
	argonKeyLen  = 32
	saltLen      = 16
)

// passwordAlphabet has no look-alike characters (0/O, 1/l/I) and nothing a
// product's password field or a config file could mangle.
const passwordAlphabet = "abcdefghjkmnpqrstuvwxyz23456789"

// GeneratePassword returns a new proxy password: 24 characters from a
// 31-letter alphabet (about 119 bits) in groups of four, e.g.
// "k7qm-2xhd-...".
func GeneratePassword() (string, error) {
	var b strings.Builder
	buf := make([]byte, 1)
	for n := 0; n < 24; {
		if _, err := rand.Read(buf); err != nil {
			return "", fmt.Errorf("cannot generate a password: no randomness (%v); retry", err)
		}
		// Rejection sampling keeps every letter equally likely.
		if int(buf[0]) >= 256-256%len(passwordAlphabet) {
			continue
		}
		if n > 0 && n%4 == 0 {
			b.WriteByte('-')
		}
		b.WriteByte(passwordAlphabet[int(buf[0])%len(passwordAlphabet)])
		n++
	}
	return b.String(), nil
}

// HashPassword returns the argon2id hash of password in the PHC string
// format: $argon2id$v=19$m=19456,t=2,p=1$<salt>$<key>.
func HashPassword(password string) (string, error) {
	salt := make([]byte, saltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("cannot hash the password: no randomness (%v); retry", err)
	}
	key := argon2.IDKey([]byte(password), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	enc := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemory, argonTime, argonThreads,
		enc.EncodeToString(salt), enc.EncodeToString(key)), nil
}

// VerifyPassword reports whether password matches the PHC argon2id hash,
// comparing in constant time. A malformed hash (or parameters too large to
// be ours) never matches.
func VerifyPassword(hash, password string) bool {
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[1] != "argon2id" || parts[2] != fmt.Sprintf("v=%d", argon2.Version) {
		return false
	}
	var m, t uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil || m == 0 || m > 1<<20 || t == 0 || t > 16 || p == 0 {
		return false
	}
	enc := base64.RawStdEncoding
	salt, err1 := enc.DecodeString(parts[4])
	want, err2 := enc.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(want) < 16 || len(want) > 64 {
		return false
	}
	got := argon2.IDKey([]byte(password), salt, t, m, p, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1
}

// dummyHash is verified against when the mailbox is unknown or has no
// password, so that such a login takes as long as a wrong password.
var dummyHash = func() string {
	h, _ := HashPassword("mailoauth proxy: no such mailbox")
	return h
}()

// NewPassword generates a proxy password and its hash: the password is
// shown once, only the hash is kept.
func NewPassword() (password, hash string, err error) {
	if password, err = GeneratePassword(); err != nil {
		return "", "", err
	}
	if hash, err = HashPassword(password); err != nil {
		return "", "", err
	}
	return password, hash, nil
}
