package core_test

import (
	"go/build"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/mailoauth/mailoauth"

// layerAllows is the rule of README.md's Architecture section: whether the
// non-test code of project package from (a path inside the module, e.g.
// "tui") may import project package to. core/mailproto is the mail
// protocol level below everything: it imports nothing of the project, and
// of core's packages only core, core/proxy and core/sandbox (which speak
// SASL) import it. core is the base every other package builds on and
// imports nothing else of the project; its other subpackages are leaves on
// core; store builds on core; tui on core and store;
// tui/sshserver on tui; cmd on everything, but cmd/benchbulk on nothing
// (it runs the built binary). store/storetest and
// core/coretest are test support: no non-test code imports them.
func layerAllows(from, to string) (bool, bool) {
	leaf := strings.HasPrefix(to, "core/")
	switch {
	case to == "store/storetest" || to == "core/coretest":
		return false, true
	case from == "core/mailproto":
		return false, true
	case to == "core/mailproto" && (from == "core" || strings.HasPrefix(from, "core/")):
		return from == "core" || from == "core/proxy" || from == "core/sandbox", true
	case from == "core":
		return false, true
	case strings.HasPrefix(from, "core/"):
		return to == "core", true
	case from == "store":
		return to == "core", true
	case from == "tui":
		return to == "core" || leaf || to == "store", true
	case from == "tui/sshserver":
		return to == "core" || leaf || to == "store" || to == "tui", true
	case from == "cmd/benchbulk":
		return false, true // it measures the shipped binary, from outside
	case strings.HasPrefix(from, "cmd/"):
		return !strings.HasPrefix(to, "cmd/"), true
	}
	return false, false // a package the rules do not know yet
}

// projectPackages is every Go package of the module (a path inside it,
// e.g. "core/proxy") with its non-test files, read from the source tree.
func projectPackages(t *testing.T) (root string, pkgs map[string]*build.Package) {
	t.Helper()
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("the module root is not %s: %v", root, err)
	}
	pkgs = map[string]*build.Package{}
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			return nil
		}
		if name := d.Name(); path != root && (strings.HasPrefix(name, ".") || name == "testdata" || name == "bin" || name == "screenshots") {
			return filepath.SkipDir
		}
		pkg, err := build.ImportDir(path, 0)
		if err != nil {
			return nil // no Go package here (or only tests)
		}
		rel, _ := filepath.Rel(root, path)
		pkgs[filepath.ToSlash(rel)] = pkg
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(pkgs) < 8 {
		t.Fatalf("only %d packages found under %s", len(pkgs), root)
	}
	return root, pkgs
}

// projectImports is every package of the module (a path inside it, e.g.
// "tui") with the project packages its non-test code imports.
func projectImports(t *testing.T) map[string][]string {
	t.Helper()
	_, pkgs := projectPackages(t)
	imports := map[string][]string{}
	for from, pkg := range pkgs {
		imports[from] = []string{}
		for _, imp := range pkg.Imports {
			if to, ok := strings.CutPrefix(imp, module+"/"); ok {
				imports[from] = append(imports[from], to)
			}
		}
	}
	return imports
}

// TestNoSourceFileOver500Lines: every non-test Go file can be read in one
// sitting (issue 13); a file that grows past 500 lines is split along
// what it does, as core/proxy's lockout.go was split from server.go.
func TestNoSourceFileOver500Lines(t *testing.T) {
	root, pkgs := projectPackages(t)
	files := 0
	for rel, pkg := range pkgs {
		for _, name := range pkg.GoFiles {
			b, err := os.ReadFile(filepath.Join(root, rel, name))
			if err != nil {
				t.Fatal(err)
			}
			files++
			if n := strings.Count(string(b), "\n"); n > 500 {
				t.Errorf("%s/%s has %d lines; split it so that no non-test file is over 500", rel, name, n)
			}
		}
	}
	if files < 100 {
		t.Fatalf("only %d non-test Go files found under %s", files, root)
	}
}

// TestImportLayers: every package's non-test imports keep the layers, so
// core stays importable by everything and nothing below reaches up.
func TestImportLayers(t *testing.T) {
	for from, imports := range projectImports(t) {
		for _, to := range imports {
			allowed, known := layerAllows(from, to)
			switch {
			case !known:
				t.Errorf("package %s has no layer rule; add one to layerAllows and to README.md's Architecture section", from)
			case !allowed:
				t.Errorf("%s imports %s, against the layers (README.md, Architecture)", from, to)
			}
		}
	}
}

// architectureDiagram reads the diagram of README.md's Architecture
// section: each package it names, with the packages its arrows point to.
func architectureDiagram(t *testing.T) map[string][]string {
	t.Helper()
	readme, err := os.ReadFile(filepath.Join("..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(readme), "\n## Architecture\n")
	_, block, ok2 := strings.Cut(section, "\n```\n")
	block, _, ok3 := strings.Cut(block, "\n```")
	if !ok || !ok2 || !ok3 {
		t.Fatal("README.md has no diagram in its Architecture section")
	}
	arrows := map[string][]string{}
	for _, line := range strings.Split(block, "\n") {
		if i := strings.Index(line, "("); i >= 0 {
			line = line[:i] // a remark
		}
		var prev []string
		for _, part := range strings.Split(line, "──►") {
			var names []string
			for _, name := range strings.Split(part, ",") {
				if name = strings.TrimSpace(name); name != "" {
					names = append(names, name)
					if _, named := arrows[name]; !named {
						arrows[name] = nil
					}
				}
			}
			for _, from := range prev {
				arrows[from] = append(arrows[from], names...)
			}
			prev = names
		}
	}
	return arrows
}

// TestArchitectureDiagram: README.md's diagram names every package, and
// what it lets a package import (along its arrows, core/mailproto only
// by an arrow drawn to it) is what layerAllows lets it import.
func TestArchitectureDiagram(t *testing.T) {
	arrows := architectureDiagram(t)
	for pkg := range projectImports(t) {
		if _, ok := arrows[pkg]; !ok {
			t.Errorf("README.md's Architecture diagram does not name package %s", pkg)
		}
	}
	for from := range arrows {
		reach := map[string]bool{}
		next := arrows[from]
		for len(next) > 0 {
			to := next[0]
			next = next[1:]
			if !reach[to] {
				reach[to] = true
				next = append(next, arrows[to]...)
			}
		}
		reach["core/mailproto"] = slices.Contains(arrows[from], "core/mailproto")
		for to := range arrows {
			if to == from {
				continue
			}
			if allowed, _ := layerAllows(from, to); allowed != reach[to] {
				t.Errorf("README.md's diagram lets %s import %s: %v; layerAllows: %v", from, to, reach[to], allowed)
			}
		}
	}
}

// TestImportLayersRefuse: the rule refuses what the layers forbid.
func TestImportLayersRefuse(t *testing.T) {
	for _, c := range [][2]string{
		{"core", "store"}, {"core", "core/sandbox"}, {"core", "core/doctor"}, {"core/doctor", "store"}, {"core", "core/consent"}, {"core/consent", "tui"}, {"core", "core/mailboxcsv"}, {"core/mailboxcsv", "core/consent"}, {"core", "core/history"}, {"store", "core/history"}, {"core/sandbox", "store"}, {"core/proxy", "core/watch"},
		{"store", "tui"}, {"store", "core/sandbox"}, {"tui", "cmd/mailoauth"}, {"tui", "tui/sshserver"},
		{"tui/sshserver", "cmd/mailoauth"}, {"core", "core/coretest"}, {"core/proxy", "core/coretest"}, {"cmd/mailoauth", "core/coretest"},
		{"core/mailproto", "core"}, {"core/mailproto", "core/sandbox"}, {"core/mailproto", "store"}, {"core/doctor", "core/mailproto"}, {"core/watch", "core/mailproto"}, {"store", "core/mailproto"},
	} {
		if ok, known := layerAllows(c[0], c[1]); ok || !known {
			t.Errorf("layerAllows(%s, %s) = %v, %v; want refused", c[0], c[1], ok, known)
		}
	}
	for _, c := range [][2]string{{"core/watch", "core"}, {"store", "core"}, {"tui", "store"}, {"tui", "core/proxy"}, {"cmd/mailoauth", "tui/sshserver"}, {"core/doctor", "core"}, {"cmd/mailoauth", "core/doctor"}, {"tui", "core/consent"}, {"tui", "core/mailboxcsv"}, {"cmd/mailoauth", "core/history"},
		{"core", "core/mailproto"}, {"core/proxy", "core/mailproto"}, {"core/sandbox", "core/mailproto"}, {"cmd/mailoauth", "core/mailproto"}} {
		if ok, _ := layerAllows(c[0], c[1]); !ok {
			t.Errorf("layerAllows(%s, %s) refused; want allowed", c[0], c[1])
		}
	}
}
