package procfs

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// rawProcAllowlist names the /proc accesses outside package procfs that are
// tolerated, as "<file relative to the module root>: <literal or name>",
// each with the reason. It is meant to stay empty or nearly so: opening,
// reading or readlinking a /proc path by string bypasses every check of this
// package. Stale entries fail the test, so the list cannot rot.
//
// Test files get no blanket exemption: they are scanned like the rest, since
// a test that trusts the host /proc tests the wrong thing; procfs's own
// tests, which mount over /proc on purpose, live in the one directory that is
// not scanned.
var rawProcAllowlist = map[string]string{}

// isProcPath reports whether s names /proc or a path below it.
func isProcPath(s string) bool {
	return s == "/proc" || strings.HasPrefix(s, "/proc/")
}

// accessFuncs are the functions, by package name as imported, that open,
// read, stat or otherwise resolve a path argument. "*" means every function
// of the package (the raw syscall wrappers).
var accessFuncs = map[string]map[string]bool{
	"os": {"Open": true, "OpenFile": true, "ReadFile": true, "Readlink": true, "ReadDir": true,
		"Stat": true, "Lstat": true, "DirFS": true, "OpenRoot": true, "OpenInRoot": true,
		"WriteFile": true, "Create": true, "Chmod": true, "Chown": true, "Lchown": true,
		"Chtimes": true, "Truncate": true, "Remove": true, "RemoveAll": true, "Chdir": true},
	"ioutil":   {"ReadFile": true, "ReadDir": true, "WriteFile": true},
	"filepath": {"EvalSymlinks": true, "Walk": true, "WalkDir": true, "Glob": true},
	"fs":       {"ReadFile": true, "ReadDir": true, "Stat": true, "Glob": true, "WalkDir": true, "Sub": true},
	"exec":     {"Command": true, "CommandContext": true},
	"unix":     {"*": true},
	"syscall":  {"*": true},
	"linux":    {"*": true},
}

// procScanner finds /proc accesses in the files of one directory.
type procScanner struct {
	fset  *token.FileSet
	files map[string]*ast.File // by name relative to the module root
	// local are the package's own functions, presumed to access the
	// paths they are given.
	local map[string]bool
}

func newProcScanner() *procScanner {
	return &procScanner{fset: token.NewFileSet(), files: map[string]*ast.File{}, local: map[string]bool{}}
}

// add parses one file of the directory.
func (s *procScanner) add(name string, src []byte) error {
	f, err := parser.ParseFile(s.fset, name, src, parser.SkipObjectResolution)
	if err != nil {
		return err
	}
	s.files[name] = f
	for _, d := range f.Decls {
		if fn, ok := d.(*ast.FuncDecl); ok && fn.Recv == nil {
			s.local[fn.Name.Name] = true
		}
	}
	return nil
}

// strLit returns the value of a string literal.
func strLit(e ast.Expr) (string, bool) {
	lit, ok := e.(*ast.BasicLit)
	if !ok || lit.Kind != token.STRING {
		return "", false
	}
	v, err := strconv.Unquote(lit.Value)
	return v, err == nil
}

// procPath returns what makes e a string that starts with /proc: a
// literal, an identifier in tainted, an element of a tainted slice, a
// concatenation or Join or Sprintf whose first part is one, or
// Join("/", "proc", ...); "" if e is not such a string. Only the leading
// part counts: filepath.Join(rootfs, "/proc") is a path in the rootfs.
func procPath(e ast.Expr, tainted map[string]bool) string {
	switch e := e.(type) {
	case *ast.BasicLit:
		if v, ok := strLit(e); ok && isProcPath(v) {
			return v
		}
	case *ast.Ident:
		if tainted[e.Name] {
			return e.Name
		}
	case *ast.ParenExpr:
		return procPath(e.X, tainted)
	case *ast.IndexExpr:
		return procPath(e.X, tainted)
	case *ast.BinaryExpr:
		if e.Op == token.ADD {
			return procPath(e.X, tainted)
		}
	case *ast.CompositeLit:
		// A slice or array of paths (not a struct's fields).
		for _, el := range e.Elts {
			if what := procPath(el, tainted); what != "" {
				return what
			}
		}
	case *ast.CallExpr:
		sel, ok := e.Fun.(*ast.SelectorExpr)
		if !ok || len(e.Args) == 0 {
			return ""
		}
		switch sel.Sel.Name {
		case "Join", "Clean", "Sprintf", "Sprint":
			if len(e.Args) >= 2 {
				a, ok1 := strLit(e.Args[0])
				b, ok2 := strLit(e.Args[1])
				if ok1 && ok2 && a == "/" && (b == "proc" || strings.HasPrefix(b, "proc/")) {
					return "/" + b
				}
			}
			return procPath(e.Args[0], tainted)
		}
	}
	return ""
}

// taint adds to tainted, until nothing changes, every name assigned (or
// declared) in n whose value is a /proc path or a slice of them, and the
// value variable of a range over such a slice.
func taint(n ast.Node, tainted map[string]bool) {
	mark := func(lhs []ast.Expr, rhs []ast.Expr) bool {
		changed := false
		for i, l := range lhs {
			id, ok := l.(*ast.Ident)
			if !ok || id.Name == "_" || tainted[id.Name] || i >= len(rhs) || len(rhs) != len(lhs) {
				continue
			}
			if rhs[i] != nil && procPath(rhs[i], tainted) != "" {
				tainted[id.Name], changed = true, true
			}
		}
		return changed
	}
	for changed := true; changed; {
		changed = false
		ast.Inspect(n, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.ValueSpec:
				lhs := make([]ast.Expr, len(n.Names))
				for i, id := range n.Names {
					lhs[i] = id
				}
				changed = mark(lhs, n.Values) || changed
			case *ast.AssignStmt:
				changed = mark(n.Lhs, n.Rhs) || changed
			case *ast.RangeStmt:
				changed = mark([]ast.Expr{n.Value}, []ast.Expr{n.X}) || changed
			}
			return true
		})
	}
}

// isAccess reports whether a call resolves its path arguments.
func (s *procScanner) isAccess(call *ast.CallExpr) bool {
	switch fn := call.Fun.(type) {
	case *ast.Ident:
		return s.local[fn.Name]
	case *ast.SelectorExpr:
		pkg, ok := fn.X.(*ast.Ident)
		if !ok {
			return false
		}
		set := accessFuncs[pkg.Name]
		return set["*"] || set[fn.Sel.Name]
	}
	return false
}

// findings returns "<file>: <what>" for every access call given a /proc
// path. Package-level declarations taint names for the whole directory;
// assignments inside a function only for that function.
func (s *procScanner) findings() []string {
	global := map[string]bool{}
	for _, f := range s.files {
		for _, d := range f.Decls {
			if g, ok := d.(*ast.GenDecl); ok {
				taint(g, global)
			}
		}
	}
	var out []string
	for _, name := range slices.Sorted(maps.Keys(s.files)) {
		for _, d := range s.files[name].Decls {
			tainted := global
			if fn, ok := d.(*ast.FuncDecl); ok && fn.Body != nil {
				tainted = maps.Clone(global)
				taint(fn.Body, tainted)
			}
			ast.Inspect(d, func(n ast.Node) bool {
				call, ok := n.(*ast.CallExpr)
				if !ok || !s.isAccess(call) {
					return true
				}
				for _, arg := range call.Args {
					if what := procPath(arg, tainted); what != "" {
						out = append(out, name+": "+what)
					}
				}
				return true
			})
		}
	}
	return out
}

// TestScanForProc checks the scanner on the shapes it must catch and those
// it must not.
func TestScanForProc(t *testing.T) {
	src := `package p
import ("fmt"; "os"; "os/exec"; "path/filepath"; "golang.org/x/sys/unix")
const cpu = "/proc/cpuinfo"
var masked = []string{"/proc/kcore", "/proc/keys"}
type mount struct{ Destination string }
var spec = []mount{{Destination: "/proc"}} // not an access
func f(pid int) {
	os.ReadFile("/proc/self/uid_map")
	os.Readlink(` + "`/proc/1/exe`" + `)
	os.Open(cpu)
	for _, m := range masked { os.Stat(m) }
	os.Open(filepath.Join("/", "proc", "self"))
	os.Open(fmt.Sprintf("/proc/%d/stat", pid))
	exec.Command("cat", "/proc/mounts")
	unix.Readlink("/proc/self/exe", nil)
	helper("/proc/version")
	os.Open("/process"); os.Open("rootfs/proc"); fmt.Println("/proc/self")
	_ = func() string { return "/proc/x" }
}
func helper(p string) { _, _ = os.ReadFile(p) }
func other() { for _, d := range []string{"/proc"} { _ = d } }
func unrelated(d string) { os.Open(d); os.Open(filepath.Join(d, "/proc")) }
`
	s := newProcScanner()
	if err := s.add("x.go", []byte(src)); err != nil {
		t.Fatal(err)
	}
	want := []string{"x.go: /proc/self/uid_map", "x.go: /proc/1/exe", "x.go: cpu", "x.go: m",
		"x.go: /proc", "x.go: /proc/%d/stat", "x.go: /proc/mounts", "x.go: /proc/self/exe", "x.go: /proc/version"}
	if got := s.findings(); !slices.Equal(got, want) {
		t.Errorf("findings:\n got %q\nwant %q", got, want)
	}
}

// TestNoRawProcAccess fails when any Go file of the module outside package
// procfs opens, reads or readlinks a path under /proc by string (issue 2,
// item 5): everything else must go through this package's verified handle.
//
// What counts as an access: a /proc path (a string literal, an identifier
// assigned or ranging over one in the same directory, or
// Join("/", "proc", ...)) passed to a function of os, io/ioutil, io/fs,
// path/filepath that resolves paths, to exec.Command, to any raw syscall
// wrapper (unix, syscall, internal/linux), or to a function of the same
// package (presumed to access what it is given). A /proc path that is only
// data, such as an OCI mount destination or masked path, is not an access.
// Not caught: paths built at run time from pieces that are not literals, and
// constants shared across packages.
func TestNoRawProcAccess(t *testing.T) {
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("module root not found above procfs: %v", err)
	}
	self := filepath.Join(root, "procfs")
	dirs := map[string]*procScanner{}
	scanned := 0
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if p != root && (p == self || d.Name() == "testdata" || d.Name() == "vendor" ||
				strings.HasPrefix(d.Name(), ".") || strings.HasPrefix(d.Name(), "_")) {
				return fs.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(p, ".go") {
			return nil
		}
		src, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		dir := filepath.Dir(p)
		if dirs[dir] == nil {
			dirs[dir] = newProcScanner()
		}
		if err := dirs[dir].add(filepath.ToSlash(rel), src); err != nil {
			t.Errorf("parse %s: %v", rel, err)
			return nil
		}
		scanned++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if scanned == 0 {
		t.Fatal("no Go file scanned outside procfs")
	}
	seen := map[string]bool{}
	for _, s := range dirs {
		for _, f := range s.findings() {
			seen[f] = true
			if _, ok := rawProcAllowlist[f]; !ok {
				t.Errorf("%s: a /proc path opened, read or resolved by string outside package procfs; "+
					"use procfs.Open, OpenFollow, Readlink, FdPath, Reopen, ReadIDMap or WriteAttr "+
					"(or add an allowlist entry with a reason)", f)
			}
		}
	}
	for entry := range rawProcAllowlist {
		if !seen[entry] {
			t.Errorf("stale allowlist entry %q: remove it", entry)
		}
	}
}
