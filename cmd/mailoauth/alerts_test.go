package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/mailoauth/mailoauth/core/watch"
)

const alertRules = "packaging/mailoauth-alerts.yml"

// The example alerting rules are valid Prometheus rules over metrics the
// watcher really exports, the README shows them verbatim, and promtool
// (Debian's prometheus package) checks and unit-tests them where installed.
func TestAlertRulesAreValidAndMatchTheMetrics(t *testing.T) {
	raw, err := os.ReadFile(alertRules)
	if err != nil {
		t.Fatal(err)
	}
	var file struct {
		Groups []struct {
			Name  string `yaml:"name"`
			Rules []struct {
				Alert       string            `yaml:"alert"`
				Expr        string            `yaml:"expr"`
				For         string            `yaml:"for"`
				Labels      map[string]string `yaml:"labels"`
				Annotations map[string]string `yaml:"annotations"`
			} `yaml:"rules"`
		} `yaml:"groups"`
	}
	if err := yaml.Unmarshal(raw, &file); err != nil {
		t.Fatalf("%s is not YAML: %v", alertRules, err)
	}
	if len(file.Groups) != 1 || len(file.Groups[0].Rules) == 0 {
		t.Fatalf("want one group of rules, got %+v", file.Groups)
	}
	known := watch.MetricNames()
	metricRe := regexp.MustCompile(`mailoauth_[a-z_]+`)
	seen := map[string]bool{}
	for _, r := range file.Groups[0].Rules {
		if !strings.HasPrefix(r.Alert, "Mailoauth") || seen[r.Alert] || strings.TrimSpace(r.Expr) == "" {
			t.Errorf("rule %q: wants a unique Mailoauth... name and an expression", r.Alert)
		}
		seen[r.Alert] = true
		for _, m := range metricRe.FindAllString(r.Expr, -1) {
			if !slices.Contains(known, m) {
				t.Errorf("rule %s uses %s, which the watcher does not export (it exports %v)", r.Alert, m, known)
			}
		}
		if r.For != "" {
			if _, err := time.ParseDuration(r.For); err != nil {
				t.Errorf("rule %s: for %q: %v", r.Alert, r.For, err)
			}
		}
		if s := r.Labels["severity"]; s != "critical" && s != "warning" {
			t.Errorf("rule %s: severity %q, want critical or warning", r.Alert, s)
		}
		if r.Annotations["summary"] == "" || r.Annotations["description"] == "" {
			t.Errorf("rule %s needs a summary and a description (what to do)", r.Alert)
		}
	}
	for _, must := range []string{"mailoauth_check_ok", "mailoauth_deadline_seconds", "mailoauth_rounds_total"} {
		if !strings.Contains(string(raw), must) {
			t.Errorf("the rules do not watch %s", must)
		}
	}
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(readme), string(raw)) {
		t.Errorf("the README's \"Keep it working\" section must show %s verbatim", alertRules)
	}

	promtool, err := exec.LookPath("promtool")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("promtool is missing; install it with `apt-get install prometheus` (.ci/run does)")
		}
		t.Log("promtool not installed (apt-get install prometheus): the rules were checked by this test alone")
		return
	}
	for _, args := range [][]string{{"check", "rules", "mailoauth-alerts.yml"}, {"test", "rules", "mailoauth-alerts_test.yml"}} {
		cmd := exec.Command(promtool, args...)
		cmd.Dir = filepath.Dir(alertRules)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
}

// The systemd unit is hardened like the other units (TestSystemdUnitsVerify
// runs systemd-analyze verify on every unit).
func TestWatchUnitIsHardened(t *testing.T) {
	checkHardenedUnit(t, "mailoauth-watch.service", "mailoauth watch ")
}

// checkHardenedUnit checks a unit of packaging/ for the hardening every
// mailoauth service has and its own lines (TestSystemdUnitsVerify runs
// systemd-analyze verify --man=no on the installed units).
func checkHardenedUnit(t *testing.T, name string, own ...string) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("packaging", name))
	if err != nil {
		t.Fatal(err)
	}
	unit := string(raw)
	for _, line := range append([]string{"ProtectSystem=strict", "ReadWritePaths=/var/lib/mailoauth", "NoNewPrivileges=yes", "PrivateTmp=yes",
		"CapabilityBoundingSet=\n", "Restart=on-failure", "Environment=MAILOAUTH_DB=/var/lib/mailoauth/mailoauth.db",
		"ExecReload=/bin/kill -HUP $MAINPID", "KillSignal=SIGTERM"}, own...) {
		if !strings.Contains(unit, line) {
			t.Errorf("%s lacks %q", name, strings.TrimSpace(line))
		}
	}
}
