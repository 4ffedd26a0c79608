package store

import (
	"bytes"
	"os"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/mailoauth/mailoauth/core"
)

const (
	testClientID = "123456789012-abcdefghijklmnop.apps.googleusercontent.com"
	testRefresh  = "1//0gRefreshTokenSecretValue-abcdefghijklmnopqrstuvwxyz"
)

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
	raw, _ := os.ReadFile(path)
	if bytes.Contains(raw, []byte(testRefresh)) || bytes.Contains(raw, []byte("RefreshTokenSecret")) {
		t.Fatal("the raw database file contains the refresh token")
	}
}

func TestRefreshTokenReplacedAtomically(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t)
	mustSaveProfile(t, s, "example.com")
	rs := s.RefreshTokens("example.com")
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			tok := testRefresh + string(rune('a'+i))
			if err := rs.SaveRefreshToken(core.RefreshToken{Mailbox: "a@example.com", ClientID: testClientID, Token: tok, Rotated: time.Now()}); err != nil {
				t.Error(err)
			}
		}(i)
	}
	wg.Wait()
	rt, ok, err := rs.LoadRefreshToken("a@example.com")
	if err != nil || !ok || len(rt.Token) != len(testRefresh)+1 || rt.ClientID != testClientID {
		t.Fatalf("after concurrent rotations: %+v %v %v", rt, ok, err)
	}
}

func TestDeleteMailboxDropsConsent(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t)
	mustSaveProfile(t, s, "example.com")
	if err := s.PutMailbox("example.com", core.Mailbox{Email: "a@example.com", DisplayName: "a@example.com"}, actor); err != nil {
		t.Fatal(err)
	}
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
