package depcheck_test

import (
	"go/ast"
	"go/build/constraint"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// needsShared reports whether n needs what only a checkout with ../shared
// beside it provides: stock Concourse's parser, found by
// concoursetest.Tool, or a path into ../shared.
func needsShared(n ast.Node) bool {
	switch n := n.(type) {
	case *ast.SelectorExpr:
		id, ok := n.X.(*ast.Ident)
		return ok && id.Name == "concoursetest" && n.Sel.Name == "Tool"
	case *ast.BasicLit:
		return n.Kind == token.STRING && strings.Contains(n.Value, "../shared")
	}
	return false
}

// TestMakeTestNeedsNothingBesideTheClone fails when a test file that make
// test compiles (no build constraint) needs ../shared: a bare clone with
// Go and git must pass make test. Such files carry a build tag and run in
// their own target (concoursevalidate: make concourse-validate; concourse:
// make concourse-e2e).
func TestMakeTestNeedsNothingBesideTheClone(t *testing.T) {
	root := repoRoot(t)
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		if d.IsDir() {
			if rel == ".git" || rel == ".cache" || rel == filepath.Join("internal", "concoursetest") || rel == filepath.Join("internal", "depcheck") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ParseComments)
		if err != nil {
			return err
		}
		if hasBuildConstraint(f.Comments) {
			return nil
		}
		ast.Inspect(f, func(n ast.Node) bool {
			if needsShared(n) {
				t.Errorf("%s needs ../shared without a build tag: a bare clone's make test would fail (tag it concoursevalidate, for make concourse-validate)", rel)
				return false
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func hasBuildConstraint(groups []*ast.CommentGroup) bool {
	for _, g := range groups {
		for _, c := range g.List {
			if constraint.IsGoBuild(c.Text) {
				return true
			}
		}
	}
	return false
}
