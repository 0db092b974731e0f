package handler

import (
	"go/ast"
	"go/parser"
	"go/token"
	"go/types"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// recorderMethods are the Recorder methods that take one of this package's outcomes, by
// the prefix of the constants that name their values.
var recorderMethods = map[string]string{"Login": "Login", "BackchannelLogout": "Backchannel", "SessionRejected": "Rejected"}

// TestReportedOutcomesAreListed: the lists the assembly hands to package metrics hold
// every outcome constant of outcomes.go exactly once, and every value the handlers report
// is such a constant: passed to the Recorder directly, through a variable, or as the
// first result of a function like completeLogin. An outcome missing from its list, or a
// literal, would be counted as "other" and vanish from the dashboards.
func TestReportedOutcomesAreListed(t *testing.T) {
	lists := map[string][]string{"Login": LoginOutcomes(), "Backchannel": BackchannelOutcomes(), "Rejected": RejectedReasons()}
	consts := outcomeConsts(t)
	for name, v := range consts {
		prefix := prefixOf(name)
		if n := countIn(lists[prefix], v); n != 1 {
			t.Errorf("%s (%q) is %d times in its list, want once", name, v, n)
		}
	}
	for prefix, list := range lists {
		if n := countPrefix(consts, prefix); len(list) != n {
			t.Errorf("the %s list has %d entries for %d constants", prefix, len(list), n)
		}
	}
	files, fset := handlerFiles(t)
	reported := 0
	for _, f := range files {
		for _, d := range f.Decls {
			fn, ok := d.(*ast.FuncDecl)
			if !ok || fn.Body == nil {
				continue
			}
			reported += checkFunc(t, fset, fn, consts)
		}
	}
	if reported < len(consts) {
		t.Fatalf("found %d reported outcomes for %d constants: the scan misses some", reported, len(consts))
	}
}

// checkFunc checks fn's Recorder calls, the variables they pass and, when fn returns an
// outcome first, all its returns; it counts the outcome constants it saw.
func checkFunc(t *testing.T, fset *token.FileSet, fn *ast.FuncDecl, consts map[string]string) int {
	seen := 0
	isOutcome := func(e ast.Expr) bool {
		name := types.ExprString(e)
		if sel, ok := e.(*ast.SelectorExpr); ok && types.ExprString(sel.X) == "metrics" {
			name = sel.Sel.Name // the metrics copies of the Rejected* reasons, until current.go names its own
		}
		_, ok := consts[name]
		if ok {
			seen++
		}
		return ok
	}
	bad := func(e ast.Expr, where string) {
		t.Errorf("%s: %s reports %s, not an outcome constant of outcomes.go", fset.Position(e.Pos()), where, types.ExprString(e))
	}
	vars := map[string]bool{}
	ast.Inspect(fn.Body, func(n ast.Node) bool {
		call, ok := n.(*ast.CallExpr)
		if sel, isSel := callSelector(call, ok); isSel && recorderMethods[sel] != "" && len(call.Args) > 0 {
			if id, isID := call.Args[0].(*ast.Ident); isID && !isOutcome(id) {
				vars[id.Name] = true // a variable: its assignments are checked below
			} else if !isID && !isOutcome(call.Args[0]) {
				bad(call.Args[0], sel)
			}
		}
		return true
	})
	returnsOutcome := false
	ast.Inspect(fn.Body, func(n ast.Node) bool {
		switch s := n.(type) {
		case *ast.AssignStmt:
			for i, lhs := range s.Lhs {
				if id, ok := lhs.(*ast.Ident); ok && vars[id.Name] && len(s.Rhs) == len(s.Lhs) {
					if _, isCall := s.Rhs[i].(*ast.CallExpr); !isCall && !isOutcome(s.Rhs[i]) {
						bad(s.Rhs[i], id.Name)
					}
				}
			}
		case *ast.ReturnStmt:
			if len(s.Results) > 0 && isOutcome(s.Results[0]) {
				returnsOutcome = true
			}
		case *ast.FuncLit:
			return false
		}
		return true
	})
	if returnsOutcome {
		ast.Inspect(fn.Body, func(n ast.Node) bool {
			if s, ok := n.(*ast.ReturnStmt); ok && len(s.Results) > 0 && !isOutcome(s.Results[0]) {
				if _, isCall := s.Results[0].(*ast.CallExpr); !isCall {
					bad(s.Results[0], fn.Name.Name) // a call's outcome is checked in its own function
				}
			}
			_, lit := n.(*ast.FuncLit)
			return !lit
		})
	}
	return seen
}

func callSelector(call *ast.CallExpr, ok bool) (string, bool) {
	if !ok {
		return "", false
	}
	sel, ok := call.Fun.(*ast.SelectorExpr)
	if !ok {
		return "", false
	}
	return sel.Sel.Name, true
}

func prefixOf(name string) string {
	for _, p := range recorderMethods {
		if strings.HasPrefix(name, p) {
			return p
		}
	}
	return ""
}

func countIn(list []string, v string) int {
	n := 0
	for _, s := range list {
		if s == v {
			n++
		}
	}
	return n
}

func countPrefix(consts map[string]string, prefix string) int {
	n := 0
	for name := range consts {
		if prefixOf(name) == prefix {
			n++
		}
	}
	return n
}

// outcomeConsts are the constants of outcomes.go with their values.
func outcomeConsts(t *testing.T) map[string]string {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), "outcomes.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, d := range f.Decls {
		if gd, ok := d.(*ast.GenDecl); ok && gd.Tok == token.CONST {
			for _, s := range gd.Specs {
				vs := s.(*ast.ValueSpec)
				for i, name := range vs.Names {
					if prefixOf(name.Name) == "" {
						t.Fatalf("outcomes.go: %s names no Recorder outcome (Login*, Backchannel*, Rejected*)", name.Name)
					}
					out[name.Name] = strings.Trim(types.ExprString(vs.Values[i]), `"`)
				}
			}
		}
	}
	return out
}

// handlerFiles parses the package's non-test files.
func handlerFiles(t *testing.T) ([]*ast.File, *token.FileSet) {
	t.Helper()
	names, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	var files []*ast.File
	for _, name := range slices.DeleteFunc(names, func(n string) bool { return strings.HasSuffix(n, "_test.go") }) {
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	return files, fset
}
