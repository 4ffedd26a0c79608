package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// bashComplete sources `mailoauth completion bash` in bash, as
// ~/.bashrc or /etc/bash_completion.d would, and returns what <TAB> after
// line offers (COMPREPLY), one per line.
func bashComplete(t *testing.T, env []string, line string) []string {
	t.Helper()
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("bash is not installed")
	}
	// Debian's bash-completion, which an interactive bash loads and which
	// cobra's script needs (_get_comp_words_by_ref).
	const bashCompletion = "/usr/share/bash-completion/bash_completion"
	if _, err := os.Stat(bashCompletion); err != nil {
		msg := "bash-completion is not installed: apt-get install bash-completion"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	script := `
source ` + bashCompletion + `
source <(mailoauth completion bash)
# the function is called here, not by readline: compopt has nothing to set
compopt() { :; }
spec=$(complete -p mailoauth)
fn=$(sed -n 's/.* -F \([^ ]*\) mailoauth$/\1/p' <<<"$spec")
[ -n "$fn" ] || { echo "no completion function in: $spec" >&2; exit 1; }
COMP_LINE="$LINE"
COMP_POINT=${#COMP_LINE}
read -ra COMP_WORDS <<<"$COMP_LINE"
[[ "$COMP_LINE" == *" " ]] && COMP_WORDS+=("")
COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 ))
COMP_TYPE=9
"$fn" mailoauth "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
printf '%s\n' "${COMPREPLY[@]}"
`
	out, err := runProgram(append(os.Environ(), append(env, "PATH="+filepath.Dir(binary)+":"+os.Getenv("PATH"), "LINE="+line)...), "", bash, "--norc", "--noprofile", "-c", script)
	if err != nil {
		t.Fatalf("completing %q: %v\n%s", line, err, out)
	}
	var words []string
	for _, w := range strings.Split(strings.TrimSpace(out), "\n") {
		if w = strings.TrimSpace(w); w != "" {
			words = append(words, w)
		}
	}
	return words
}

// TestCompletionBash: the bash completion completes commands (mai<TAB> is
// mailbox), flags, and profile domains and mailbox addresses from the
// store; with no store it completes no address and creates nothing.
func TestCompletionBash(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "mailoauth.db")
	home := filepath.Join(dir, "home")
	env := []string{"HOME=" + home, "XDG_DATA_HOME=", "MAILOAUTH_DB=", "MAILOAUTH_KEY="}

	if got := bashComplete(t, env, "mailoauth mai"); strings.Join(got, " ") != "mailbox" {
		t.Errorf("mailoauth mai<TAB> offers %q; want mailbox", got)
	}
	if got := bashComplete(t, env, "mailoauth mailbox i"); strings.Join(got, " ") != "import" {
		t.Errorf("mailoauth mailbox i<TAB> offers %q; want import", got)
	}
	if got := bashComplete(t, env, "mailoauth test --mech"); strings.Join(got, " ") != "--mechanism" {
		t.Errorf("mailoauth test --mech<TAB> offers %q; want --mechanism", got)
	}
	if got := bashComplete(t, env, "mailoauth token --format x"); strings.Join(got, " ") != "xoauth2" {
		t.Errorf("mailoauth token --format x<TAB> offers %q; want xoauth2", got)
	}

	// No store: nothing to offer, and nothing created (not the default
	// store under HOME, not a --db typo).
	missing := filepath.Join(dir, "typo", "mailoauth.db")
	if got := bashComplete(t, env, "mailoauth --db "+missing+" token "); len(got) != 0 {
		t.Errorf("with no store, token <TAB> offers %q; want nothing", got)
	}
	if got := bashComplete(t, env, "mailoauth token u"); len(got) != 0 {
		t.Errorf("with no default store, token u<TAB> offers %q; want nothing", got)
	}
	for _, p := range []string{filepath.Dir(missing), home} {
		if _, err := os.Stat(p); err == nil {
			t.Errorf("completion created %s", p)
		}
	}

	key := filepath.Join(dir, "sa.json")
	if err := os.WriteFile(key, serviceAccountFixture(t), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"setup", "--domain", "example.test", "--sender", "admin@example.test", "--key", key, "--no-verify"},
		{"setup", "--domain", "other.test", "--sender", "boss@other.test", "--key", key, "--no-verify"},
		{"--profile", "example.test", "mailbox", "add", "user1@example.test"},
		{"--profile", "example.test", "mailbox", "add", "user2@example.test"},
	} {
		if r := mailoauth(t, db, args...); r.code != 0 {
			t.Fatalf("mailoauth %v: exit %d, %s", args, r.code, r.stderr)
		}
	}
	if got := bashComplete(t, env, "mailoauth --db "+db+" token u"); strings.Join(got, " ") != "user1@example.test user2@example.test" {
		t.Errorf("token u<TAB> offers %q; want the two mailboxes", got)
	}
	if got := bashComplete(t, append(env, "MAILOAUTH_DB="+db), "mailoauth test --mailbox b"); strings.Join(got, " ") != "boss@other.test" {
		t.Errorf("test --mailbox b<TAB> (MAILOAUTH_DB) offers %q; want boss@other.test", got)
	}
	if got := bashComplete(t, env, "mailoauth --db "+db+" --profile other.test mailbox rm "); strings.Join(got, " ") != "boss@other.test" {
		t.Errorf("--profile other.test mailbox rm <TAB> offers %q; want only that profile's sender", got)
	}
	if got := bashComplete(t, env, "mailoauth --db "+db+" doctor --profile "); strings.Join(got, " ") != "example.test other.test" {
		t.Errorf("--profile <TAB> offers %q; want both domains", got)
	}
	// An argument completes as its synopsis names it (DOMAIN, ADDR), and
	// --domain of setup and upgrade as a profile's domain.
	for line, want := range map[string]string{
		"profile rm o":              "other.test",
		"proxy password --rotate u": "user1@example.test user2@example.test",
		"upgrade --domain e":        "example.test",
	} {
		if got := bashComplete(t, env, "mailoauth --db "+db+" "+line); strings.Join(got, " ") != want {
			t.Errorf("%s<TAB> offers %q; want %s", line, got, want)
		}
	}
}
