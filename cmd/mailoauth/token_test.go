package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mailoauth/mailoauth/core/sandbox"
)

// tokenStore sets up a store against an in-process sandbox, caches a token
// for user1 with `mailoauth token`, and stops the sandbox: from then on any
// network call of the token helper fails.
func tokenStore(tb testing.TB) (db, token string) {
	tb.Helper()
	dir := tb.TempDir()
	sb, err := sandbox.Start(sandbox.Options{Users: 3, Delegate: true, Dir: dir})
	if err != nil {
		tb.Fatal(err)
	}
	defer sb.Close()
	db = filepath.Join(tb.TempDir(), "mailoauth.db")
	tb.Setenv("MAILOAUTH_KEY", "")
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"--db", db, "setup", "--domain", sb.Domain(), "--sender", "admin@" + sb.Domain(),
		"--key", filepath.Join(dir, "service-account.json"), "--endpoints", filepath.Join(dir, "endpoints.json")}, nil, &out, &errb); code != 0 {
		tb.Fatalf("setup: %d %s %s", code, out.String(), errb.String())
	}
	out.Reset()
	if code := run(context.Background(), []string{"--db", db, "token", "user1@" + sb.Domain()}, nil, &out, &errb); code != 0 {
		tb.Fatalf("token: %d %s", code, errb.String())
	}
	return db, strings.TrimSpace(out.String())
}

// TestTokenHelperContract: what passwordeval / PassCmd rely on. A cached
// token comes back with the token servers down (no network), alone on
// stdout; a token that cannot be had is an error on stderr, one sentence,
// with nothing on stdout and a non-zero exit.
func TestTokenHelperContract(t *testing.T) {
	db, tok := tokenStore(t)
	if len(tok) < 100 {
		t.Fatalf("first token: %q", tok)
	}
	r := mailoauth(t, db, "token", "user1@example.test")
	if r.code != 0 || r.stdout != tok+"\n" || r.stderr != "" {
		t.Fatalf("cached token with the network down: exit %d stdout %q stderr %q", r.code, r.stdout, r.stderr)
	}
	r = mailoauth(t, db, "token", "--format", "json", "USER1@example.test")
	var js struct {
		AccessToken string `json:"access_token"`
		Cached      bool   `json:"cached"`
		Mailbox     string `json:"mailbox"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &js); err != nil || !js.Cached || js.AccessToken != tok || js.Mailbox != "user1@example.test" {
		t.Fatalf("json: exit %d %q %q %v", r.code, r.stdout, r.stderr, err)
	}
	// Not cached, and the token endpoint is gone.
	r = mailoauth(t, db, "token", "user2@example.test")
	if r.code == 0 || r.stdout != "" || r.stderr == "" || strings.Count(strings.TrimSpace(r.stderr), "\n") != 0 {
		t.Fatalf("uncached token without network: exit %d stdout %q stderr %q", r.code, r.stdout, r.stderr)
	}
	// A store that is not there.
	r = mailoauth(t, filepath.Join(t.TempDir(), "none.db"), "token", "user1@example.test")
	if r.code == 0 || r.stdout != "" || r.stderr == "" {
		t.Fatalf("no store: exit %d stdout %q stderr %q", r.code, r.stdout, r.stderr)
	}
}

// BenchmarkTokenCached is `mailoauth token ADDR` with a cached token, in
// process: store open, profile, key parse, cache lookup (the network is
// down, so a network call would fail the benchmark).
func BenchmarkTokenCached(b *testing.B) {
	db, tok := tokenStore(b)
	args := []string{"--db", db, "token", "user1@example.test"}
	var out, errb bytes.Buffer
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		out.Reset()
		if code := run(context.Background(), args, nil, &out, &errb); code != 0 || out.String() != tok+"\n" {
			b.Fatalf("exit %d %q %s", code, out.String(), errb.String())
		}
	}
}

// BenchmarkTokenCachedProcess is what a mail program waits for: the
// mailoauth process started, answering from the cache, and exiting. The
// goal is well under 50 ms per op.
func BenchmarkTokenCachedProcess(b *testing.B) {
	db, tok := tokenStore(b)
	env := append(os.Environ(), "MAILOAUTH_KEY=")
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		cmd := exec.Command(binary, "--db", db, "token", "user1@example.test")
		cmd.Env = env
		out, err := cmd.Output()
		if err != nil || string(out) != tok+"\n" {
			b.Fatalf("%v %q", err, out)
		}
	}
}

// TestExportTokenCommandNamesTheStoreAbsolutely: the token_command export
// prints goes into a mail program that runs in another directory with
// another environment, so it names the store by its absolute path, whether
// the store was given as a relative --db or by MAILOAUTH_DB.
func TestExportTokenCommandNamesTheStoreAbsolutely(t *testing.T) {
	dir := delegatedSandbox(t, 1)
	work := t.TempDir()
	db := filepath.Join(work, "m.db")
	setupStore(t, db, dir, "--key", "--no-verify")
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
