package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestExportTokenCommandNamesTheStoreAbsolutely: the token_command export
// prints goes into a mail program that runs in another directory with
// another environment, so it names the store by its absolute path, whether
// the store was given as a relative --db or by MAILOAUTH_DB.
func TestExportTokenCommandNamesTheStoreAbsolutely(t *testing.T) {
	dir := delegatedSandbox(t, 1)
	work := t.TempDir()
	db := filepath.Join(work, "m.db")
	if r := mailoauth(t, db, "setup", "--domain", "example.test", "--sender", "admin@example.test", "--no-verify",
		"--key", filepath.Join(dir, "service-account.json"), "--endpoints", filepath.Join(dir, "endpoints.json")); r.code != 0 {
		t.Fatalf("setup: exit %d %s", r.code, r.stderr)
	}
	for _, run := range []struct {
		name string
		args []string
		env  string
	}{
		{"--db m.db", []string{"--db", "m.db", "export"}, "MAILOAUTH_DB="},
		{"MAILOAUTH_DB=m.db", []string{"export"}, "MAILOAUTH_DB=m.db"},
	} {
		cmd := exec.Command(binary, run.args...)
		cmd.Dir = work
		cmd.Env = append(os.Environ(), "MAILOAUTH_KEY=", run.env)
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		if err := cmd.Run(); err != nil {
			t.Fatalf("%s: export: %v %s", run.name, err, errb.String())
		}
		var cfg struct {
			TokenCommand string `json:"token_command"`
		}
		if err := json.Unmarshal(out.Bytes(), &cfg); err != nil {
			t.Fatalf("%s: export: %v\n%s", run.name, err, out.String())
		}
		if want := "mailoauth --db " + db + " token MAILBOX"; !strings.Contains(cfg.TokenCommand, want) {
			t.Errorf("%s: export's token command is %q; a mail program elsewhere needs %q", run.name, cfg.TokenCommand, want)
		}
	}
}
