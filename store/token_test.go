package store

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/mailoauth/mailoauth/core"
	"github.com/mailoauth/mailoauth/store/storetest"
)

const (
	testClientID = "123456789012-abcdefghijklmnop.apps.googleusercontent.com"
	testRefresh  = "1//0gRefreshTokenSecretValue-abcdefghijklmnopqrstuvwxyz"
)

func TestTokenCache(t *testing.T) {
	t.Parallel()
	s, _ := storeWithProfile(t, "example.com")
	var c core.TokenCache = s.TokenCache("example.com")
	scopes := []string{core.ScopeMail, core.ScopeCalendar}
	exp := time.Now().Add(time.Hour).UTC().Truncate(time.Second)
	tok := core.Token{Mailbox: "a@example.com", Scopes: scopes, AccessToken: testToken, Expiry: exp}
	if err := c.SaveToken(tok); err != nil {
		t.Fatal(err)
	}
	// Scope order does not matter.
	got, ok, err := c.LoadToken("a@example.com", []string{core.ScopeCalendar, core.ScopeMail})
	if err != nil || !ok || !reflect.DeepEqual(got, tok) {
		t.Errorf("LoadToken = %+v, %v, %v; want %+v", got, ok, err, tok)
	}
	if _, ok, _ := c.LoadToken("a@example.com", []string{core.ScopeMail}); ok {
		t.Error("a token was found for other scopes")
	}
	if _, ok, _ := s.TokenCache("other.example").LoadToken("a@example.com", scopes); ok {
		t.Error("a token was found under another domain")
	}
	if err := s.TokenCache("other.example").SaveToken(tok); !errors.Is(err, ErrNotFound) {
		t.Errorf("SaveToken without a profile: %v", err)
	}
	if err := c.DeleteToken("a@example.com", scopes); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := c.LoadToken("a@example.com", scopes); ok {
		t.Error("the token survived DeleteToken")
	}

	// Many goroutines at once.
	atOnce(t, 16, 4, func(i, j int, mb string) error {
		tk := core.Token{Mailbox: mb, Scopes: []string{core.ScopeMail}, AccessToken: fmt.Sprintf("tok-%d-%d", i, j), Expiry: exp}
		if err := c.SaveToken(tk); err != nil {
			return err
		}
		got, ok, err := c.LoadToken(mb, tk.Scopes)
		if err != nil || !ok || got.AccessToken != tk.AccessToken {
			return fmt.Errorf("concurrent load %s: %+v %v %v", mb, got, ok, err)
		}
		return nil
	})
}

func TestRefreshTokensSealedAndLazy(t *testing.T) {
	t.Parallel()
	s, path := newStore(t)
	mustSaveProfile(t, s, "example.com")
	rs := s.RefreshTokens("example.com")
	if _, ok, err := rs.LoadRefreshToken("a@example.com"); ok || err != nil {
		t.Fatalf("a new store has a consent: %v %v", ok, err)
	}
	// No bucket until the first consent: schema 1 stores need no migration.
	_ = s.view(func(tx *bolt.Tx) error {
		if domainBucket(tx, "example.com").Bucket([]byte(refreshBucket)) != nil {
			t.Error("the refresh-token bucket exists before any consent")
		}
		return nil
	})
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	if err := rs.SaveRefreshToken(core.RefreshToken{Mailbox: "A@Example.com", ClientID: testClientID, Token: testRefresh, ConsentedAt: at}); err != nil {
		t.Fatal(err)
	}
	rt, ok, err := rs.LoadRefreshToken("a@example.com")
	if err != nil || !ok || rt.Token != testRefresh || !rt.ConsentedAt.Equal(at) {
		t.Fatalf("load: %+v %v %v", rt, ok, err)
	}
	// The token cache of the domain is the same store, as core.NewTester expects.
	if _, isRS := s.TokenCache("example.com").(core.RefreshTokenStore); !isRS {
		t.Fatal("the token cache does not implement core.RefreshTokenStore")
	}
	states, err := s.ConsentStates("example.com", testClientID)
	if err != nil || !states["a@example.com"].Consented {
		t.Fatalf("consent states: %+v %v", states, err)
	}
	if st, _ := s.ConsentStates("example.com", "other-x.apps.googleusercontent.com"); !st["a@example.com"].OtherClient {
		t.Fatalf("consent for another client counted: %+v", st)
	}
	entries, _ := s.Audit("example.com", 0)
	found := false
	for _, e := range entries {
		found = found || e.Action == "consent.grant"
		if bytes.Contains([]byte(e.Detail), []byte(testRefresh)) {
			t.Fatalf("the audit log holds the refresh token: %+v", e)
		}
	}
	if !found {
		t.Fatalf("no consent.grant audit entry: %+v", entries)
	}
	s.Close()
	storetest.NoneInFile(t, path, testRefresh, "RefreshTokenSecret")
}

func TestRefreshTokenReplacedAtomically(t *testing.T) {
	t.Parallel()
	s, _ := storeWithProfile(t, "example.com")
	rs := s.RefreshTokens("example.com")
	atOnce(t, 20, 1, func(i, _ int, _ string) error {
		tok := testRefresh + string(rune('a'+i))
		return rs.SaveRefreshToken(core.RefreshToken{Mailbox: "a@example.com", ClientID: testClientID, Token: tok, Rotated: time.Now()})
	})
	rt, ok, err := rs.LoadRefreshToken("a@example.com")
	if err != nil || !ok || len(rt.Token) != len(testRefresh)+1 || rt.ClientID != testClientID {
		t.Fatalf("after concurrent rotations: %+v %v %v", rt, ok, err)
	}
}

func TestDeleteMailboxDropsConsent(t *testing.T) {
	t.Parallel()
	s, _ := storeWithProfile(t, "example.com")
	mustPutMailbox(t, s, "example.com", core.Mailbox{Email: "a@example.com", DisplayName: "a@example.com"})
	rs := s.RefreshTokens("example.com")
	if err := rs.SaveRefreshToken(core.RefreshToken{Mailbox: "a@example.com", ClientID: testClientID, Token: testRefresh}); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteMailbox("example.com", "a@example.com", actor); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := rs.LoadRefreshToken("a@example.com"); ok {
		t.Fatal("the consent of a removed mailbox is still stored")
	}
}
