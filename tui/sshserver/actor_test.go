package sshserver

import (
	"strings"
	"testing"
)

// The SSH user name is the client's choice: it reaches the audit log (and
// every screen that shows the actor) escaped.
func TestActorEscapesTheUserName(t *testing.T) {
	a := Actor("root\x1b[2J\x00", nil)
	if strings.ContainsAny(a, "\x1b\x00") || !strings.Contains(a, `root\x1b[2J\x00`) {
		t.Fatalf("Actor = %q", a)
	}
}
