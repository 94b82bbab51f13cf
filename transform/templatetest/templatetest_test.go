package templatetest

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/erpipe/erpipe/transform"
)

// TestNewSampleOfPackage: a template whose output is a package (a zip),
// given a sample and no expected results yet, gets a folder of every
// entry of the package from --update (it used to get one entry, picked at
// random, in a file named like the sample), and a change to any entry
// fails the case.
func TestNewSampleOfPackage(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join("..", "..", "templates", "customers-v3")
	copyFile(t, filepath.Join(src, "template.yaml"), filepath.Join(dir, "template.yaml"))
	copyFile(t, filepath.Join(src, "samples", "customers.csv"), filepath.Join(dir, "samples", "customers.csv"))
	file := filepath.Join(dir, "template.yaml")
	tmpl, err := transform.Load(file)
	if err != nil {
		t.Fatal(err)
	}
	cases, err := Cases(tmpl, file)
	if err != nil || len(cases) != 1 {
		t.Fatalf("cases %v, %v", cases, err)
	}
	c := cases[0]
	ctx := context.Background()
	o, err := Run(ctx, tmpl, c, true)
	if err != nil || !o.Updated {
		t.Fatalf("update: %+v, %v", o, err)
	}
	if st, err := os.Stat(c.Expect); err != nil || !st.IsDir() {
		t.Fatalf("the expectation %s is not a folder: %v", c.Expect, err)
	}
	entries, _ := filepath.Glob(filepath.Join(c.Expect, "*.zip", "*"))
	var names []string
	for _, e := range entries {
		names = append(names, filepath.Base(e))
	}
	joined := strings.Join(names, " ")
	for _, want := range []string{"Manifest.xml", "PackageHeader.xml"} {
		if !strings.Contains(joined, want) {
			t.Errorf("the package's %s is not kept: %s", want, joined)
		}
	}
	if o, err := Run(ctx, tmpl, c, false); err != nil || !o.Pass {
		t.Fatalf("the run again: %+v, %v", o, err)
	}
	// Change the package's header: the case fails, naming it.
	for _, e := range entries {
		if filepath.Base(e) == "PackageHeader.xml" {
			if err := os.WriteFile(e, []byte("<changed/>"), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	o, err = Run(ctx, tmpl, c, false)
	if err != nil || o.Pass || !strings.Contains(o.Diff, "PackageHeader.xml") {
		t.Fatalf("a changed entry: %+v, %v", o, err)
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestCasesOnlyTheFolder: a sample that is a symbolic link is not a case,
// and a case whose input is one is refused, so that erpipe templates test
// reads nothing beyond the template's folder.
func TestCasesOnlyTheFolder(t *testing.T) {
	dir, outside := t.TempDir(), t.TempDir()
	copyFile(t, filepath.Join("..", "..", "templates", "customers-v3", "template.yaml"), filepath.Join(dir, "template.yaml"))
	copyFile(t, filepath.Join("..", "..", "templates", "customers-v3", "samples", "customers.csv"), filepath.Join(outside, "secret.csv"))
	copyFile(t, filepath.Join(outside, "secret.csv"), filepath.Join(dir, "samples", "customers.csv"))
	if err := os.Symlink(filepath.Join(outside, "secret.csv"), filepath.Join(dir, "samples", "linked.csv")); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "template.yaml")
	tmpl, err := transform.Load(file)
	if err != nil {
		t.Fatal(err)
	}
	cases, err := Cases(tmpl, file)
	if err != nil || len(cases) != 1 || cases[0].Name != "sample-customers.csv" {
		t.Fatalf("cases %+v, %v; want the one sample that is a file", cases, err)
	}
	caseDir := filepath.Join(dir, "testdata", "cases", "linked")
	if err := os.MkdirAll(caseDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(outside, "secret.csv"), filepath.Join(caseDir, "input.csv")); err != nil {
		t.Fatal(err)
	}
	if _, err := Cases(tmpl, file); err == nil || !strings.Contains(err.Error(), "symbolic link") {
		t.Fatalf("a case whose input is a link: %v", err)
	}
}
