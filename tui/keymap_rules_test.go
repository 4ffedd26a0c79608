package tui

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestKeysComeFromTheKeymap: the wizard matches keys with key.Matches on
// bindings declared in the keymap (defaultKeymap, keys.go, which the
// context carries), never by comparing msg.String(), and no other function
// makes up a binding of its own, so every key the help shows is one the
// keymap declares.
func TestKeysComeFromTheKeymap(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		src, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		f, err := parser.ParseFile(fset, name, src, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Decls {
			fn, ok := d.(*ast.FuncDecl)
			if !ok || fn.Body == nil || fn.Name.Name == "b" {
				continue
			}
			keymap := name == "keys.go" && fn.Name.Name == "defaultKeymap"
			ast.Inspect(fn.Body, func(n ast.Node) bool {
				switch n := n.(type) {
				case *ast.CallExpr:
					if id, ok := n.Fun.(*ast.Ident); ok && id.Name == "b" && !keymap {
						t.Errorf("%s: %s makes a key binding; declare it in the keymap (tui/keys.go)", fset.Position(n.Pos()), fn.Name.Name)
					}
					if sel, ok := n.Fun.(*ast.SelectorExpr); ok && sel.Sel.Name == "NewBinding" {
						t.Errorf("%s: %s makes a key binding; declare it in the keymap (tui/keys.go)", fset.Position(n.Pos()), fn.Name.Name)
					}
					if sel, ok := n.Fun.(*ast.SelectorExpr); ok && sel.Sel.Name == "String" {
						if x, ok := sel.X.(*ast.Ident); ok && x.Name == "msg" {
							t.Errorf("%s: %s reads msg.String(); match a keymap binding with key.Matches", fset.Position(n.Pos()), fn.Name.Name)
						}
					}
				}
				return true
			})
		}
	}
}
