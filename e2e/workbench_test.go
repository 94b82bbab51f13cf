package e2e

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"
)

// The template workbench (console/static/workbench.js) in a real
// headless Chromium against the real erpipe run: a finance user (an
// author) opens a built-in with its keys explained, derives a template,
// makes a typo and sees the hint at its line, fixes it, runs the edit on
// a sample with each value's lineage on hover, runs its test cases, sees
// the diff against the base and saves it; an operator and a viewer see
// no Save button and the API refuses their save. Each page is screenshot
// at 1280x800 and 390 pixels wide and checked by axe-core.
func TestWorkbenchBrowser(t *testing.T) {
	chromium(t)
	axeJS = loadAxe(t)
	var extra strings.Builder
	for _, c := range [][2]string{{"fin", "author"}, {"look", "viewer"}} {
		sum := sha256.Sum256([]byte(tokenOf(c[0])))
		fmt.Fprintf(&extra, "    - name: %s\n      token_sha256: %s\n      role: %s\n", c[0], hex.EncodeToString(sum[:]), c[1])
	}
	ws, d, base := startAPI(t, "", extra.String())
	ctx, _ := browserCtx(t, t.TempDir())

	run(t, ctx, "open the templates", chromedp.Navigate(base+"/console/#/templates"))
	waitShown(t, ctx, "#token")
	run(t, ctx, "sign in as the author", chromedp.SendKeys(chromedp.CSS("#token"), tokenOf("fin")+"\r"))
	waitText(t, ctx, "#tpl-table tbody", "customers-v3")
	wbScreens(t, ctx, "templates")

	// A built-in, read only, with its keys explained.
	run(t, ctx, "open customers-v3", chromedp.Click(chromedp.CSS(`tr[data-template="customers-v3"] a`)))
	waitText(t, ctx, "#wb-meta", "Built-in template")
	waitText(t, ctx, "#wb-check", "No problems")
	if ro := eval[bool](t, ctx, `document.querySelector("#wb-text").readOnly`); !ro {
		t.Error("a built-in is editable")
	}
	// The cursor on a field's column: key, in input.fields.
	eval[bool](t, ctx, `(() => { const ta = document.querySelector("#wb-text"); const i = ta.value.indexOf("column: Customer group");
		ta.focus(); ta.setSelectionRange(i + 3, i + 3); ta.dispatchEvent(new Event("click")); return true; })()`)
	waitText(t, ctx, "#wb-help-key", "input.fields[].column")
	if help := text(t, ctx, "#wb-help-text"); !strings.Contains(help, "header") {
		t.Errorf("the explanation of input.fields[].column: %q", help)
	}
	wbScreens(t, ctx, "workbench-builtin")

	// Derive a template of one's own.
	run(t, ctx, "name the new template", chromedp.Clear(chromedp.CSS("#wb-derive-name")), chromedp.SendKeys(chromedp.CSS("#wb-derive-name"), "customers-fin"),
		chromedp.Click(chromedp.CSS("#wb-derive")))
	waitText(t, ctx, "#wb-title", "customers-fin")
	waitText(t, ctx, "#wb-meta", "derived from customers-v3")
	waitText(t, ctx, "#wb-check", "No problems")

	// Typing at the end of a long text keeps the editor scrolled there.
	eval[bool](t, ctx, `(() => { const ta = document.querySelector("#wb-text"); ta.value += "# filler\n".repeat(200);
		ta.dispatchEvent(new Event("input")); const ed = document.querySelector("#wb-editor"); ed.scrollTop = ed.scrollHeight;
		ta.focus(); ta.setSelectionRange(ta.value.length, ta.value.length); return true; })()`)
	run(t, ctx, "type at the end", chromedp.SendKeys(chromedp.CSS("#wb-text"), "# end\n"))
	if gap := eval[float64](t, ctx, `(() => { const ed = document.querySelector("#wb-editor"); return ed.scrollHeight - ed.clientHeight - ed.scrollTop; })()`); gap > 50 {
		t.Errorf("typing at the end scrolled the editor %v pixels away from it", gap)
	}
	eval[bool](t, ctx, `(() => { const ta = document.querySelector("#wb-text"); ta.value = ta.value.replace(/(# filler\n)+# end\n$/, "");
		ta.dispatchEvent(new Event("input")); return true; })()`)
	waitText(t, ctx, "#wb-check", "No problems")

	// A typo: the problem, its hint and its line marked.
	eval[bool](t, ctx, `(() => { const ta = document.querySelector("#wb-text"); ta.focus(); ta.setSelectionRange(ta.value.length, ta.value.length); return true; })()`)
	run(t, ctx, "type a field with a typo", chromedp.SendKeys(chromedp.CSS("#wb-text"), "input:\n  fields:\n    - name: email\n      colum: E-mail\n"))
	waitText(t, ctx, "#wb-problems", `unknown key "colum"`)
	waitText(t, ctx, "#wb-problems .wb-hint", "column")
	lines := eval[int](t, ctx, `document.querySelector("#wb-text").value.split("\n").length`)
	bad := eval[string](t, ctx, `[...document.querySelectorAll("#wb-gutter .bad")].map((s) => s.dataset.line).join(",")`)
	if want := fmt.Sprint(lines - 1); bad != want || count(t, ctx, "#wb-marks .wb-mark") != 1 {
		t.Errorf("the lines marked: %q, want %s (and one mark)", bad, want)
	}
	if p := text(t, ctx, "#wb-problems li"); !strings.Contains(p, fmt.Sprintf("Line %d, column 7", lines-1)) {
		t.Errorf("the problem: %q", p)
	}
	wbScreens(t, ctx, "workbench-typo")

	// Fixed: the cursor after "colum", an n.
	eval[bool](t, ctx, `(() => { const ta = document.querySelector("#wb-text"); const i = ta.value.indexOf("colum:") + 5; ta.focus(); ta.setSelectionRange(i, i); return true; })()`)
	run(t, ctx, "fix the typo", chromedp.SendKeys(chromedp.CSS("#wb-text"), "n"))
	waitText(t, ctx, "#wb-check", "No problems")
	if n := count(t, ctx, "#wb-marks .wb-mark"); n != 0 {
		t.Errorf("%d lines still marked", n)
	}
	eval[bool](t, ctx, `(() => { const ta = document.querySelector("#wb-text"); ta.focus(); ta.setSelectionRange(ta.value.length, ta.value.length); return true; })()`)
	run(t, ctx, "change the city", chromedp.SendKeys(chromedp.CSS("#wb-text"), "output:\n  dmf:\n    entities:\n      - name: Customers V3\n        columns:\n          ADDRESSCITY: UPPER(TRIM(city))\n"))
	waitText(t, ctx, "#wb-check", "No problems")

	// Run it on a sample: the rows, and a value's lineage on hover.
	sample, _ := filepath.Abs("../templates/customers-v3/samples/customers.csv")
	run(t, ctx, "run on the sample", chromedp.SetUploadFiles(chromedp.CSS("#wb-sample"), []string{sample}))
	waitText(t, ctx, "#wb-run-body table", "SAN DIEGO")
	if n := count(t, ctx, "#wb-run-body tbody tr[data-row]"); n != 10 {
		t.Errorf("the sample run shows %d rows, want the sample's 10", n)
	}
	col := eval[int](t, ctx, `[...document.querySelectorAll("#wb-run-body thead th")].findIndex((th) => th.textContent === "CUSTOMERACCOUNT")`)
	box := eval[[]float64](t, ctx, fmt.Sprintf(`(() => { const td = document.querySelector("#wb-run-body tbody tr").children[%d]; td.scrollIntoView({block: "center"});
		const r = td.getBoundingClientRect(); return [r.x + r.width/2, r.y + r.height/2]; })()`, col))
	if _, err := chromedp.Call(ctx, input.DispatchMouseEvent, input.DispatchMouseEventParams{Type: input.DispatchMouseEventTypeMouseMoved, X: box[0], Y: box[1]}); err != nil {
		t.Fatal(err)
	}
	waitText(t, ctx, "#wb-lineage", `input account = "US-001" at row 2, column 1 ("Account")`)
	waitText(t, ctx, "#wb-lineage", "CUSTOMERACCOUNT = \"US-001\"")
	wbScreens(t, ctx, "workbench-run")
	// And on its own sample (the built-in's, copied in by derive).
	pick(t, ctx, "#wb-own", "customers-workbook.xlsx")
	run(t, ctx, "run on its own workbook sample", chromedp.Click(chromedp.CSS("#wb-run-own")))
	waitText(t, ctx, "#wb-action-status", "Ran on customers-workbook.xlsx")
	waitText(t, ctx, "#wb-run-body table", "SAN DIEGO")

	// The test cases (the built-in's samples, now with the city in
	// capitals) and the diff against the base.
	run(t, ctx, "run the test cases", chromedp.Click(chromedp.CSS("#wb-test")))
	waitText(t, ctx, "#wb-tests-body", "sample-customers.csv")
	waitText(t, ctx, "#wb-tests-body", "ADDRESSCITY")
	if s := text(t, ctx, "#wb-action-status"); !strings.Contains(s, "0 passed, 2 failed") {
		t.Errorf("the test cases: %q", s)
	}
	if !eval[bool](t, ctx, `document.querySelector("#wb-accept").disabled`) {
		t.Error("new results may be accepted before the edit is saved")
	}
	run(t, ctx, "compare with the base", chromedp.Click(chromedp.CSS("#wb-diff")))
	waitText(t, ctx, "#wb-diffs-body", "Compared with built-in customers-v3")
	waitText(t, ctx, "#wb-diffs-body", "output.dmf.entities.Customers V3.columns.ADDRESSCITY: TRIM(city) → UPPER(TRIM(city))")

	// Save: version 1.0.1, in the workspace.
	run(t, ctx, "save", chromedp.Click(chromedp.CSS("#wb-save")))
	waitText(t, ctx, "#wb-action-status", "Saved customers-fin version 1.0.1 (was 1.0.0)")
	waitText(t, ctx, "#wb-meta", "version 1.0.1")
	saved := string(readFile(t, filepath.Join(ws, "templates", "customers-fin", "template.yaml")))
	contains(t, "the saved template", saved, "version: 1.0.1", "column: E-mail", "ADDRESSCITY: UPPER(TRIM(city))", "template: customers-v3")
	wbScreens(t, ctx, "workbench-saved")

	// The new results accepted as the cases' expected ones.
	run(t, ctx, "run the test cases again", chromedp.Click(chromedp.CSS("#wb-test")))
	waitText(t, ctx, "#wb-action-status", "0 passed, 2 failed")
	run(t, ctx, "accept the results", chromedp.Click(chromedp.CSS("#wb-accept")))
	waitText(t, ctx, "#wb-action-status", "2 passed, 0 failed. The expected results of 2 were rewritten.")
	run(t, ctx, "run the test cases once more", chromedp.Click(chromedp.CSS("#wb-test")))
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`document.querySelector("#wb-action-status").textContent === "2 passed, 0 failed."`,
		chromedp.WithPollingTimeout(30*time.Second))); err != nil {
		t.Errorf("the test cases after accepting their results: %v, %q", err, text(t, ctx, "#wb-action-status"))
	}

	// An operator and a viewer: no Save button, and the API says no.
	for _, who := range []string{"mid", "look"} {
		run(t, ctx, "sign out", chromedp.Click(chromedp.CSS("#signout")))
		run(t, ctx, "open the derived template", chromedp.Navigate(base+"/console/#/templates/customers-fin"))
		waitShown(t, ctx, "#token")
		run(t, ctx, "sign in as "+who, chromedp.SendKeys(chromedp.CSS("#token"), tokenOf(who)+"\r"))
		waitText(t, ctx, "#wb-title", "customers-fin")
		waitText(t, ctx, "#wb-meta", "version 1.0.1")
		if n := count(t, ctx, "#wb-save"); n != 0 {
			t.Errorf("%s sees a Save button", who)
		}
		status, err := chromedp.Run(ctx, chromedp.Evaluate[int](`fetch("/api/v1/templates/customers-fin", {method: "PUT", body: document.querySelector("#wb-text").value,
			headers: {Authorization: "Bearer " + sessionStorage.getItem("erpipe.token")}}).then((r) => r.status)`, chromedp.EvalAwaitPromise))
		if err != nil || status != 403 {
			t.Errorf("a save as %s: %d %v, want 403", who, status, err)
		}
	}
	if after := string(readFile(t, filepath.Join(ws, "templates", "customers-fin", "template.yaml"))); after != saved {
		t.Error("the template changed after the author's save")
	}
	wbScreens(t, ctx, "workbench-viewer")
	d.stop(t)
}

// wbScreens is screens, with axe-core run at the phone's width too.
func wbScreens(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	screens(t, ctx, name)
	run(t, ctx, "a phone's screen", chromedp.EmulateViewport(390, 844))
	checkAccessibility(t, ctx, name+" at 390 pixels")
	run(t, ctx, "back to 1280x800", chromedp.EmulateViewport(1280, 800))
}
