package store

import (
	"errors"
	"strings"
	"testing"

	"github.com/mailoauth/mailoauth/core"
	bolt "go.etcd.io/bbolt"
)

// A last result that does not decode comes back as a RecordError whose
// sentence names the mailbox and the fix with no command (the wizard shows
// it on its summary; the command line words its own).
func TestDamagedResultIsARecordErrorWithoutCommand(t *testing.T) {
	t.Parallel()
	s, _ := storeWithProfile(t, "example.test")
	err := s.update(func(tx *bolt.Tx) error {
		rb, err := domainBucket(tx, "example.test").CreateBucketIfNotExists([]byte(resultBucket))
		if err != nil {
			return err
		}
		return rb.Put([]byte("user1@example.test"), []byte("{not json"))
	})
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.Results("example.test")
	var re *RecordError
	if !errors.As(err, &re) || re.Record != RecordResult || re.Mailbox != "user1@example.test" {
		t.Fatalf("Results of a damaged record: %v; want a RecordError of user1@example.test's result", err)
	}
	if msg := err.Error(); !strings.HasPrefix(msg, "the last result of user1@example.test in store ") ||
		!strings.HasSuffix(msg, "; run the test again") || strings.Contains(msg, "mailoauth ") {
		t.Errorf("sentence %q", msg)
	}
}

// A stored consent that does not decode is core's DamagedConsentError: the
// same sentence in every face, worded in core with the consent command.
func TestDamagedConsentSaysHowToConsentAgain(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t)
	saveOAuthProfile(t, s, "example.test")
	c := s.RefreshTokens("example.test").(*tokenCache)
	key := "user1@example.test"
	sealed, err := s.seal(c.refreshAD(key), []byte("{not json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.updateProfile("example.test", func(b *bolt.Bucket) error { return putIn(b, refreshBucket, key, sealed) }); err != nil {
		t.Fatal(err)
	}
	_, _, err = c.LoadRefreshToken(key)
	var de *core.DamagedConsentError
	want := "the stored consent of user1@example.test in store " + s.path + " is damaged (invalid character 'n' looking for beginning of object key string); run `mailoauth authorize user1@example.test` to give it again"
	if !errors.As(err, &de) || err.Error() != want {
		t.Errorf("LoadRefreshToken of a damaged consent:\n%v\nwant %s", err, want)
	}
}

// A profile whose settings do not decode, or are gone, is a RecordError of
// the profile whose sentence names no command; and the way out it gives
// works: the profile can be deleted (as `profile rm` does, counting its
// mailboxes first) and set up again.
func TestDamagedProfileIsARecordErrorThatCanBeDeleted(t *testing.T) {
	t.Parallel()
	for _, damage := range []struct {
		name  string
		apply func(b *bolt.Bucket) error
		cause string
	}{
		{"not json", func(b *bolt.Bucket) error { return b.Put([]byte(profileKey), []byte("{not json")) }, "(invalid character"},
		{"no settings", func(b *bolt.Bucket) error { return b.Delete([]byte(profileKey)) }, "(no settings)"},
	} {
		s, _ := storeWithProfile(t, "example.test")
		if err := s.updateProfile("example.test", damage.apply); err != nil {
			t.Fatal(err)
		}
		_, err := s.Profile("example.test")
		var re *RecordError
		if !errors.As(err, &re) || re.Record != RecordProfile || re.Domain != "example.test" {
			t.Fatalf("%s: Profile of a damaged profile: %v; want a RecordError of example.test's settings", damage.name, err)
		}
		msg := err.Error()
		if !strings.HasPrefix(msg, "profile example.test in store "+s.path+" is damaged "+damage.cause) ||
			!strings.HasSuffix(msg, "; delete it and set it up again") || strings.Contains(msg, "`") {
			t.Errorf("%s: sentence %q", damage.name, msg)
		}
		if _, err := s.MailboxCount("example.test"); err != nil {
			t.Errorf("%s: counting the mailboxes of a damaged profile: %v", damage.name, err)
		}
		if err := s.DeleteProfile("example.test", actor); err != nil {
			t.Fatalf("%s: deleting a damaged profile: %v", damage.name, err)
		}
		mustSaveProfile(t, s, "example.test")
		if _, err := s.Profile("example.test"); err != nil {
			t.Errorf("%s: the profile set up again: %v", damage.name, err)
		}
	}
}
