package main

import (
	"compress/gzip"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// makeInstall runs `make install` with the given variables, the binary
// built into a fresh directory.
func makeInstall(t *testing.T, vars ...string) {
	t.Helper()
	runMake(t, "install", filepath.Join(t.TempDir(), "mailoauth"), vars...)
}

// runMake runs `make -s TARGET BIN=bin VARS...` in the repository's root;
// it skips the test where make is not installed.
func runMake(t *testing.T, target, bin string, vars ...string) {
	t.Helper()
	if _, err := exec.LookPath("make"); err != nil {
		t.Skip("make is not installed")
	}
	args := append([]string{"-s", "-C", "../..", target, "BIN=" + bin}, vars...)
	if out, err := runProgram(nil, "", "make", args...); err != nil {
		t.Fatalf("make %v: %v\n%s", args, err, out)
	}
}

// TestMakeInstall: make install DESTDIR=... puts the binary, the man page,
// the three shell completions and the systemd units where their tools look
// under PREFIX, and the units start PREFIX/bin/mailoauth.
func TestMakeInstall(t *testing.T) {
	dest := t.TempDir()
	makeInstall(t, "DESTDIR="+dest, "PREFIX=/usr/local")
	root := filepath.Join(dest, "usr", "local")
	files := map[string]string{
		"bin/mailoauth":                                  "",
		"share/man/man1/mailoauth.1.gz":                  "",
		"share/bash-completion/completions/mailoauth":    "__start_mailoauth",
		"share/zsh/site-functions/_mailoauth":            "#compdef mailoauth",
		"share/fish/vendor_completions.d/mailoauth.fish": "complete -c mailoauth",
		"lib/systemd/system/mailoauth-serve.service":     "ExecStart=/usr/local/bin/mailoauth serve ",
		"lib/systemd/system/mailoauth-watch.service":     "ExecStart=/usr/local/bin/mailoauth watch ",
		"lib/systemd/system/mailoauth-proxy.service":     "ExecStart=/usr/local/bin/mailoauth proxy ",
	}
	for rel, want := range files {
		data, err := os.ReadFile(filepath.Join(root, rel))
		if err != nil {
			t.Errorf("make install did not write %s: %v", rel, err)
			continue
		}
		if !strings.Contains(string(data), want) {
			t.Errorf("%s lacks %q", rel, want)
		}
	}
	if out, err := exec.Command(filepath.Join(root, "bin/mailoauth"), "--version").Output(); err != nil || !strings.HasPrefix(string(out), "mailoauth ") {
		t.Errorf("the installed binary's --version: %v %q", err, out)
	}
	f, err := os.Open(filepath.Join(root, "share/man/man1/mailoauth.1.gz"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatalf("the man page is not gzip: %v", err)
	}
	page, _ := io.ReadAll(zr)
	if !strings.HasPrefix(string(page), ".TH MAILOAUTH 1") {
		t.Errorf("the man page starts %q", string(page[:min(len(page), 40)]))
	}
	if fi, err := os.Stat(filepath.Join(root, "bin/mailoauth")); err == nil && fi.Mode().Perm() != 0o755 {
		t.Errorf("the binary's mode is %v, want 0755", fi.Mode().Perm())
	}
}

// TestSystemdUnitsVerify: every unit make install writes passes
// `systemd-analyze verify` with no complaint (its warnings included).
func TestSystemdUnitsVerify(t *testing.T) {
	sa, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze is not installed")
	}
	prefix := t.TempDir() // the units' ExecStart must name an existing binary
	makeInstall(t, "PREFIX="+prefix)
	units, _ := filepath.Glob(filepath.Join(prefix, "lib/systemd/system/mailoauth-*.service"))
	if len(units) < 3 {
		t.Fatalf("units installed: %v", units)
	}
	for _, u := range units {
		out, err := exec.Command(sa, append([]string{"verify", "--man=no"}, u)...).CombinedOutput()
		if err != nil || len(strings.TrimSpace(string(out))) > 0 {
			t.Errorf("systemd-analyze verify %s: %v\n%s", filepath.Base(u), err, out)
		}
	}
}

// TestServeUnitIsHardened: the serve unit runs as the package's user with
// the services' store, writes only the store and its host key's directory
// (never authorized_keys), keeps no capability, restarts on failure.
func TestServeUnitIsHardened(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("packaging", "mailoauth-serve.service"))
	if err != nil {
		t.Fatal(err)
	}
	unit := string(raw)
	for _, line := range []string{"User=mailoauth\n", "Environment=MAILOAUTH_DB=/var/lib/mailoauth/mailoauth.db\n",
		"ProtectSystem=strict\n", "ReadWritePaths=/var/lib/mailoauth /etc/mailoauth/ssh\n", "NoNewPrivileges=yes\n",
		"PrivateTmp=yes\n", "ProtectHome=yes\n", "CapabilityBoundingSet=\n", "Restart=on-failure\n", "KillSignal=SIGTERM\n",
		"--authorized-keys /etc/mailoauth/authorized_keys ", "--host-key /etc/mailoauth/ssh/ssh_host_ed25519_key ", "--log-format json"} {
		if !strings.Contains(unit, line) {
			t.Errorf("mailoauth-serve.service lacks %q", strings.TrimSpace(line))
		}
	}
	if strings.Contains(unit, "\nAmbientCapabilities") {
		t.Error("mailoauth-serve.service grants a capability; port 2222 needs none")
	}
}
