package main

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/mailoauth/mailoauth/store"
)

// `mailoauth token` on a busy store waits for the lock once, as the README
// says, not once read-only and once more for writing: it exits 3 before a
// second wait could have ended.
func TestTokenOnBusyStoreWaitsOnce(t *testing.T) {
	db, pr, backup := holdStore(t)
	defer func() {
		pr.CloseWithError(errors.New("test over"))
		<-backup
	}()
	start := time.Now()
	r := mailoauth(t, db, "token", "user1@example.test")
	took := time.Since(start)
	if r.code != exitEnviron || !strings.Contains(r.stderr, "store is in use by another process (pid ") {
		t.Fatalf("busy store: exit %d %q", r.code, r.stderr)
	}
	if took >= 2*store.LockTimeout {
		t.Errorf("token took %v on a busy store: it waited for the lock more than once (each wait is %v)", took, store.LockTimeout)
	}
}
