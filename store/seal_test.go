package store

import (
	"bytes"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/mailoauth/mailoauth/core"
	"github.com/mailoauth/mailoauth/store/storetest"
)

// The sealing of secrets: none in the file in clear, none movable to
// another record, and the key's sources and their errors.

func TestSecretsNotInFile(t *testing.T) {
	t.Parallel()
	s, path := newStore(t)
	p := mustSaveProfile(t, s, "example.com")
	if err := s.TokenCache("example.com").SaveToken(core.Token{Mailbox: "a@example.com", Scopes: []string{core.ScopeMail}, AccessToken: testToken, Expiry: time.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	raw := storetest.NoneInFile(t, path, testPEM[:40], "PRIVATE KEY", "secretkeymaterial", testPassword, testToken, string(p.Credential[:30]))
	// The non-secret parts are there in clear (so the check above is not vacuous).
	if !bytes.Contains(raw, []byte("admin@example.com")) {
		t.Error("the database file does not hold the profile in clear; the secret check proves nothing")
	}
}

func TestSealedValuesCannotBeSwapped(t *testing.T) {
	t.Parallel()
	s, _ := storeWithProfile(t, "a.example")
	mustSaveProfile(t, s, "b.example")
	// Move a.example's sealed credential onto b.example.
	err := s.update(func(tx *bolt.Tx) error {
		v := append([]byte(nil), domainBucket(tx, "a.example").Get([]byte(credentialKey))...)
		return domainBucket(tx, "b.example").Put([]byte(credentialKey), v)
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Profile("a.example"); err != nil {
		t.Errorf("the untouched profile: %v", err)
	}
	_, err = s.Profile("b.example")
	if err == nil || !strings.Contains(err.Error(), "cannot be opened") {
		t.Errorf("swapped credential: %v", err)
	}
}

func TestKeys(t *testing.T) {
	t.Setenv(KeyEnv, "")
	dir := t.TempDir()
	path := filepath.Join(dir, "mailoauth.db")
	s := openStore(t, path, Options{})
	mustSaveProfile(t, s, "example.com")
	_ = s.Close()

	// Another key file: a clear error naming it.
	other := filepath.Join(dir, "other.key")
	_ = os.WriteFile(other, []byte(base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32))), 0o600)
	_, err := Open(path, Options{KeyPath: other})
	if !errors.Is(err, ErrWrongKey) || !strings.Contains(err.Error(), other) {
		t.Errorf("wrong key file: %v", err)
	}

	// MAILOAUTH_KEY wins over the file: a wrong one is named.
	t.Setenv(KeyEnv, base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{9}, 32)))
	_, err = Open(path, Options{})
	if !errors.Is(err, ErrWrongKey) || !strings.Contains(err.Error(), KeyEnv) {
		t.Errorf("wrong MAILOAUTH_KEY: %v", err)
	}
	// A malformed one says how to make one.
	t.Setenv(KeyEnv, "not-base64!")
	_, err = Open(path, Options{})
	if !errors.Is(err, ErrBadKey) || !strings.Contains(err.Error(), "head -c32 /dev/urandom | base64") {
		t.Errorf("malformed MAILOAUTH_KEY: %v", err)
	}
	t.Setenv(KeyEnv, base64.StdEncoding.EncodeToString([]byte("short")))
	if _, err = Open(path, Options{}); !errors.Is(err, ErrBadKey) {
		t.Errorf("short MAILOAUTH_KEY: %v", err)
	}
	// The right key through the environment opens it.
	keyText, _ := os.ReadFile(path + ".key")
	t.Setenv(KeyEnv, strings.TrimSpace(string(keyText)))
	s, err = Open(path, Options{KeyPath: other})
	if err != nil {
		t.Fatalf("right MAILOAUTH_KEY: %v", err)
	}
	if s.KeySource() != KeyEnv {
		t.Errorf("KeySource = %q", s.KeySource())
	}
	if p, err := s.Profile("example.com"); err != nil || p.P12Password != testPassword {
		t.Errorf("profile with the env key: %v", err)
	}
	_ = s.Close()

	// A store whose key file went missing is not silently given a new key.
	t.Setenv(KeyEnv, "")
	_ = os.Remove(path + ".key")
	_, err = Open(path, Options{})
	if !errors.Is(err, ErrBadKey) || !strings.Contains(err.Error(), "missing") {
		t.Errorf("missing key file: %v", err)
	}
	if _, err := os.Stat(path + ".key"); err == nil {
		t.Error("a new key file was made for a store sealed with another key")
	}

	// A new store with MAILOAUTH_KEY set makes no key file.
	t.Setenv(KeyEnv, strings.TrimSpace(string(keyText)))
	p2 := filepath.Join(dir, "env.db")
	s = openStore(t, p2, Options{})
	_ = s.Close()
	if _, err := os.Stat(p2 + ".key"); err == nil {
		t.Error("a key file was written although MAILOAUTH_KEY is set")
	}
}
