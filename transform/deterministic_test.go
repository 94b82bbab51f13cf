package transform_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/erpipe/erpipe/transform"
)

// TestRunIsDeterministic checks that running the same input twice makes
// the same bytes, zip time stamps included: a job resumed after a crash
// must deliver a result identical to the one it may already have
// delivered, so that destinations can take the repeat as done.
func TestRunIsDeterministic(t *testing.T) {
	tmpl, err := transform.Load("../templates/customers-v3/template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	in := filepath.Join(t.TempDir(), "customers.csv")
	data, err := os.ReadFile("../templates/customers-v3/samples/customers.csv")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(in, data, 0o644); err != nil {
		t.Fatal(err)
	}
	var outs [][]byte
	for range 2 {
		dir := t.TempDir()
		res, err := tmpl.Run(context.Background(), in, dir)
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Outputs) != 1 {
			t.Fatalf("outputs %q, want one", res.Outputs)
		}
		b, err := os.ReadFile(res.Outputs[0])
		if err != nil {
			t.Fatal(err)
		}
		outs = append(outs, b)
	}
	if !bytes.Equal(outs[0], outs[1]) {
		t.Error("two runs of the same input made different packages")
	}
}
