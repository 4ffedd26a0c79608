package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mailoauth/mailoauth/core"
)

// runRecipe runs a mail program with the test's store in $MAILOAUTH_DB and
// the mailoauth binary first on $PATH, as the README's recipes assume.
func runRecipe(t *testing.T, db string, stdin string, name string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append(os.Environ(), "MAILOAUTH_KEY=", "MAILOAUTH_DB="+db, "HOME="+t.TempDir(),
		"PATH="+filepath.Dir(binary)+":"+os.Getenv("PATH"))
	if stdin != "" {
		cmd.Stdin = strings.NewReader(stdin)
	}
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// TestInteropRecipeMbsync: the README's mbsync channel pulls Dovecot's
// INBOX into a local Maildir by SASL XOAUTH2 (Cyrus SASL with Debian's
// libsasl2-modules-kdexoauth2) with PassCmd "mailoauth token ...".
func TestInteropRecipeMbsync(t *testing.T) {
	requirePrograms(t, "mbsync", "curl")
	if m, _ := filepath.Glob("/usr/lib/*/sasl2/libkdexoauth2.so*"); len(m) == 0 {
		// Not a program, but the same one-line skip (or CI failure) names
		// the package to install.
		requirePrograms(t, "libsasl2-modules-kdexoauth2")
	}
	s, db := interopSetup(t, core.SecurityTLS, core.SecurityTLS)
	user := "user5@" + interopDomain
	subject := "for mbsync " + fmt.Sprint(time.Now().UnixNano())
	msg := writeMessage(t, user, user, subject)
	if out, err := runRecipe(t, db, "", "sh", "-c", fmt.Sprintf(`curl -sS --cacert %s smtps://%s --mail-from %s --mail-rcpt %s --upload-file %s --user %s --oauth2-bearer "$(mailoauth token %s)"`,
		s.CAFile, s.SMTPS, user, user, msg, user, user)); err != nil {
		t.Fatalf("sending: %v %s", err, out)
	}
	waitArrival(t, s, db, user, subject)

	local := t.TempDir()
	_, port, _ := strings.Cut(s.IMAPS, ":")
	conf := fmt.Sprintf(`IMAPAccount work
Host localhost
Port %s
User %s
PassCmd "mailoauth token %s"
AuthMechs XOAUTH2
SSLType IMAPS
CertificateFile %s

IMAPStore work-remote
Account work

MaildirStore work-local
Path %s/
Inbox %s/INBOX

Channel work
Far :work-remote:
Near :work-local:
Patterns INBOX
Create Near
Sync Pull
SyncState *
`, port, user, user, s.CAFile, local, local)
	confPath := filepath.Join(t.TempDir(), "mbsyncrc")
	if err := os.WriteFile(confPath, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := runRecipe(t, db, "", "mbsync", "-c", confPath, "-a")
	if err != nil {
		t.Fatalf("mbsync: %v\n%s\nDovecot log:\n%s", err, out, s.DovecotLog())
	}
	found := false
	for _, sub := range []string{"new", "cur"} {
		files, _ := filepath.Glob(filepath.Join(local, "INBOX", sub, "*"))
		for _, f := range files {
			b, _ := os.ReadFile(f)
			found = found || strings.Contains(string(b), "Subject: "+subject)
		}
	}
	if !found {
		t.Fatalf("mbsync did not pull the message into %s:\n%s", local, out)
	}
}
