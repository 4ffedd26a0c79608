package store

import (
	"errors"
	"strings"
	"testing"

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
