// Package architecture_test keeps ARCHITECTURE.md true to the code: the packages it names exist,
// every package of the module is named there, and its "Who imports whom" lines are exactly what
// each package's non-test files import of the project.
package architecture_test

import (
	"errors"
	"go/build"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/hipchat-connector/hipchat-connector"

// packages returns every package of the module (its directories with non-test Go files), by path
// relative to the module root, with the project's packages that its non-test files import.
func packages(t *testing.T) map[string][]string {
	t.Helper()
	pkgs := map[string][]string{}
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			return nil
		}
		if name := d.Name(); path != "." && (strings.HasPrefix(name, ".") || name == "testdata") {
			return filepath.SkipDir
		}
		p, err := build.ImportDir(path, 0)
		if err != nil {
			var none *build.NoGoError
			if errors.As(err, &none) {
				return nil
			}
			return err
		}
		if path == "." {
			return nil // this test's own directory
		}
		var own []string
		for _, imp := range p.Imports {
			if rel, ok := strings.CutPrefix(imp, module+"/"); ok {
				own = append(own, rel)
			}
		}
		slices.Sort(own)
		pkgs[filepath.ToSlash(path)] = own
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return pkgs
}

// section returns the text of ARCHITECTURE.md under heading "## name", up to the next "## ".
func section(t *testing.T, doc, name string) string {
	t.Helper()
	start := strings.Index(doc, "\n## "+name+"\n")
	if start < 0 {
		t.Fatalf("ARCHITECTURE.md has no section %q", name)
	}
	rest := doc[start+len(name)+5:]
	if end := strings.Index(rest, "\n## "); end >= 0 {
		rest = rest[:end]
	}
	return rest
}

func readArchitecture(t *testing.T) string {
	t.Helper()
	raw, err := os.ReadFile("ARCHITECTURE.md")
	if err != nil {
		t.Fatal(err)
	}
	return string(raw)
}

// The packages table names each package of the module once, and nothing else.
func TestArchitectureNamesEveryPackage(t *testing.T) {
	pkgs := packages(t)
	table := section(t, readArchitecture(t), "Packages")
	named := map[string]int{}
	cell := regexp.MustCompile(`^\| ([^|]+) \|`)
	name := regexp.MustCompile("`([^`]+)`")
	for _, line := range strings.Split(table, "\n") {
		m := cell.FindStringSubmatch(line)
		if m == nil || strings.HasPrefix(m[1], "package") || strings.HasPrefix(m[1], "---") {
			continue
		}
		for _, n := range name.FindAllStringSubmatch(m[1], -1) {
			named[n[1]]++
		}
	}
	for p := range pkgs {
		if named[p] != 1 {
			t.Errorf("package %s is named %d times in ARCHITECTURE.md's table, want once", p, named[p])
		}
	}
	for n := range named {
		if _, ok := pkgs[n]; !ok {
			t.Errorf("ARCHITECTURE.md names %s, which is no package of the module", n)
		}
	}
}

// Each "Who imports whom" line is exactly what its package imports of the project, and every
// package has one.
func TestArchitectureImportsAreTheCodes(t *testing.T) {
	pkgs := packages(t)
	text := section(t, readArchitecture(t), "Who imports whom")
	start, end := strings.Index(text, "```\n"), strings.LastIndex(text, "```")
	if start < 0 || end <= start {
		t.Fatal(`"Who imports whom" has no fenced block of lines`)
	}
	seen := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(text[start+4:end]), "\n") {
		pkg, imports, ok := strings.Cut(line, " → ")
		if !ok {
			t.Errorf("line %q is not \"package → imports\"", line)
			continue
		}
		var listed []string
		if imports != "—" {
			listed = strings.Split(imports, ", ")
		}
		slices.Sort(listed)
		got, known := pkgs[pkg]
		switch {
		case !known:
			t.Errorf("ARCHITECTURE.md lists imports of %s, which is no package of the module", pkg)
		case !slices.Equal(listed, got):
			t.Errorf("%s imports %v; ARCHITECTURE.md says %v", pkg, got, listed)
		}
		seen[pkg] = true
	}
	for p := range pkgs {
		if !seen[p] {
			t.Errorf("ARCHITECTURE.md has no \"Who imports whom\" line for %s", p)
		}
	}
}
