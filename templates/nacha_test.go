package templates

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shopspring/decimal"
	"gopkg.in/yaml.v3"

	"github.com/erpipe/erpipe/transform"
)

// TestNachaRoundTrip writes the nacha-ach sample as an ACH file, then
// reads the file back with a template whose input.fixed_width is the
// built-in's own layout (its write and value keys left out), and checks
// that each payment comes back as it went in: the receiver, the routing
// and account numbers, the amount in cents, the transaction code, and the
// company and effective date of its batch, and the description its
// addenda record carries. Reading checks the batch and
// file control records (counts, entry hashes, debit and credit totals,
// block count) against the entries.
func TestNachaRoundTrip(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	tmpl, err := transform.Load("nacha-ach/template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	res, err := tmpl.Run(ctx, "nacha-ach/samples/payments.csv", dir)
	if err != nil {
		t.Fatal(err)
	}
	if res.Written != 4 || len(res.Outputs) != 1 {
		t.Fatalf("wrote %d rows to %v", res.Written, res.Outputs)
	}
	reader := nachaReader(t, dir)
	out := filepath.Join(dir, "read")
	if err := os.Mkdir(out, 0o755); err != nil {
		t.Fatal(err)
	}
	res, err = reader.Run(ctx, res.Outputs[0], out)
	if err != nil {
		t.Fatal(err)
	}
	if res.Rejected != 0 {
		t.Fatalf("reading the ACH file rejected rows: %v", res.Errors)
	}
	got := readCSV(t, res.Outputs[0])
	checkTampered(t, reader, res.Outputs[0], dir)
	want := readCSV(t, "nacha-ach/samples/payments.csv")
	if len(got) != len(want) {
		t.Fatalf("read %d payments, wrote %d", len(got)-1, len(want)-1)
	}
	col := map[string]int{}
	for i, h := range got[0] {
		col[h] = i
	}
	for i, w := range want[1:] {
		r := got[i+1]
		g := []string{r[col["name"]], r[col["routing"]], r[col["account"]], r[col["amount"]], r[col["code"]], r[col["company"]], r[col["date"]], r[col["description"]]}
		wantName := strings.ToUpper(w[4])
		wantName = wantName[:min(22, len(wantName))]
		code := map[string]string{"checking": "22", "savings": "32"}[w[8]]
		date := strings.ReplaceAll(w[3], "-", "")[2:]
		if g[0] != wantName || g[1] != w[6] || g[2] != w[7] || !decimal.RequireFromString(g[3]).Equal(decimal.RequireFromString(w[10])) ||
			g[4] != code || g[5] != w[1] || g[6] != date || g[7] != strings.ToUpper(w[11]) {
			t.Errorf("payment %d read back as %q; it was %q", i+1, g, w)
		}
	}
}

// nachaReader makes, in dir, a template that reads ACH files with the
// layout of the nacha-ach built-in and writes their entries as CSV.
func nachaReader(t *testing.T, dir string) *transform.Template {
	b, err := os.ReadFile("nacha-ach/template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := yaml.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	fw := doc["output"].(map[string]any)["fixed_width"].(map[string]any)
	delete(fw, "group_by")
	delete(fw, "line_ending")
	fw["record"] = "entry"
	fw["attach"] = []any{"addenda"}
	for _, r := range fw["records"].([]any) {
		rec := r.(map[string]any)
		delete(rec, "write")
		delete(rec, "when")
		for _, f := range rec["fields"].([]any) {
			delete(f.(map[string]any), "value")
		}
	}
	reader := map[string]any{
		"name": "nacha-read",
		"input": map[string]any{
			"format":      "fixed_width",
			"fixed_width": fw,
			"fields": []any{
				map[string]any{"name": "name", "column": "individual_name"},
				map[string]any{"name": "dfi", "column": "receiving_dfi"},
				map[string]any{"name": "check_digit"},
				map[string]any{"name": "account", "column": "dfi_account_number"},
				map[string]any{"name": "amount", "type": "decimal"},
				map[string]any{"name": "code", "column": "entry.transaction_code"},
				map[string]any{"name": "company", "column": "batch_header.company_identification"},
				map[string]any{"name": "date", "column": "effective_entry_date"},
				map[string]any{"name": "description", "column": "addenda.payment_related_information"},
			},
		},
		"output": map[string]any{"csv": map[string]any{"columns": map[string]any{
			"name": "name", "routing": "PADLEFT(dfi, 8, \"0\") + check_digit", "account": "account", "amount": "amount",
			"code": "code", "company": "company", "date": "date", "description": "description",
		}}},
	}
	out, err := yaml.Marshal(reader)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "nacha-read.yaml")
	if err := os.WriteFile(p, out, 0o644); err != nil {
		t.Fatal(err)
	}
	tmpl, err := transform.Load(p)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	return tmpl
}

// checkTampered changes one entry's amount by a cent: the batch's credit
// total no longer adds up, and reading the file fails at that total.
func checkTampered(t *testing.T, reader *transform.Template, ach, dir string) {
	b, err := os.ReadFile(filepath.Join(filepath.Dir(filepath.Dir(ach)), "payments.ach"))
	if err != nil {
		t.Fatal(err)
	}
	bad := strings.Replace(string(b), "0000125000", "0000125001", 1)
	p := filepath.Join(dir, "tampered.ach")
	if err := os.WriteFile(p, []byte(bad), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = reader.Run(context.Background(), p, t.TempDir())
	want := `tampered.ach: row 9 column 33: batch_control.total_credit is "000005260050", but adding up entry.amount over its batch_header gives 52600.51`
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("reading a tampered file: %v\nwant %s", err, want)
	}
}
