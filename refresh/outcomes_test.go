package refresh

import (
	"go/ast"
	"go/parser"
	"go/token"
	"go/types"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// TestObserveReportsOnlyListedOutcomes: every Observe call in the package passes one of
// the Outcome constants, and Outcomes lists exactly those constants, once each. The
// metrics' label set is Outcomes, so an outcome passed as a literal or left out of the
// list would be counted as "other" and disappear from the dashboards without a failure.
func TestObserveReportsOnlyListedOutcomes(t *testing.T) {
	consts := outcomeConsts(t)
	listed := Outcomes()
	if len(listed) != len(consts) {
		t.Errorf("Outcomes() has %d entries, outcomes.go declares %d constants: list each exactly once", len(listed), len(consts))
	}
	for name, v := range consts {
		if n := countOf(listed, v); n != 1 {
			t.Errorf("%s (%q) is in Outcomes() %d times, want once", name, v, n)
		}
	}
	calls := 0
	for _, f := range packageFiles(t) {
		ast.Inspect(f.file, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			sel, ok := call.Fun.(*ast.SelectorExpr)
			if !ok || sel.Sel.Name != "Observe" || len(call.Args) != 1 {
				return true
			}
			calls++
			if _, known := consts[types.ExprString(call.Args[0])]; !known {
				t.Errorf("%s: Observe is passed %s, not one of the Outcome constants of outcomes.go",
					f.fset.Position(call.Pos()), types.ExprString(call.Args[0]))
			}
			return true
		})
	}
	if calls < len(consts) {
		t.Fatalf("found %d Observe calls for %d outcomes: the scan misses some (or an outcome is never reported)", calls, len(consts))
	}
}

func countOf(list []string, v string) int {
	n := 0
	for _, s := range list {
		if s == v {
			n++
		}
	}
	return n
}

// outcomeConsts are the Outcome* constants of outcomes.go with their values.
func outcomeConsts(t *testing.T) map[string]string {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), "outcomes.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, d := range f.Decls {
		gd, ok := d.(*ast.GenDecl)
		if !ok || gd.Tok != token.CONST {
			continue
		}
		for _, s := range gd.Specs {
			vs := s.(*ast.ValueSpec)
			for i, name := range vs.Names {
				lit, ok := vs.Values[i].(*ast.BasicLit)
				if !ok || !strings.HasPrefix(name.Name, "Outcome") {
					t.Fatalf("outcomes.go: %s is not an Outcome constant with a string value", name.Name)
				}
				out[name.Name], _ = strconv.Unquote(lit.Value)
			}
		}
	}
	return out
}

type parsedFile struct {
	fset *token.FileSet
	file *ast.File
}

// packageFiles parses the package's non-test files.
func packageFiles(t *testing.T) []parsedFile {
	t.Helper()
	names, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	var out []parsedFile
	for _, name := range slices.DeleteFunc(names, func(n string) bool { return strings.HasSuffix(n, "_test.go") }) {
		src, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		fset := token.NewFileSet()
		f, err := parser.ParseFile(fset, name, src, 0)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, parsedFile{fset, f})
	}
	return out
}
