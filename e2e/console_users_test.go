package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/erpipe/erpipe/workspace"
)

// The console's users, roles and schedules in a real headless Chromium
// against the real daemon: a viewer signs in with a name and password,
// sees the jobs but no Retry, no Drop a file, and the server refuses its
// retry (403) as it refuses a change without the session's CSRF token;
// an operator runs a schedule's period and sends a correction with its
// reason, and reads it in the receipt. The new pages are screenshot at
// 1280x800 and 390 pixels wide and checked by axe-core.

// usersYAML adds a viewer (vera) and an operator (otto) under http:,
// whose passwords are their names followed by "-password-1".
func usersYAML(t *testing.T) string {
	t.Helper()
	var b strings.Builder
	b.WriteString("  users:\n")
	for _, u := range [][2]string{{"vera", "viewer"}, {"otto", "operator"}} {
		h, err := workspace.HashPassword(u[0] + "-password-1")
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "    - name: %s\n      password_hash: %q\n      role: %s\n", u[0], h, u[1])
	}
	return b.String()
}

const saftSchedule = `schedules:
  - name: saft-monthly
    template: saft-no
    cron: "0 6 1 * *"
    time_zone: Europe/Oslo
    period: previous-month
    input:
      files: data/ledger/*.csv
`

// screensAndPhone is screens, with axe-core run on the phone's width
// too.
func screensAndPhone(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	screens(t, ctx, name)
	run(t, ctx, "a phone's screen", chromedp.EmulateViewport(390, 844))
	checkAccessibility(t, ctx, name+" at 390 pixels")
	run(t, ctx, "back to 1280x800", chromedp.EmulateViewport(1280, 800))
}

// signIn fills the name and password form and submits it.
func signIn(t *testing.T, ctx context.Context, name, password string) {
	t.Helper()
	waitShown(t, ctx, "#signin-form")
	eval[bool](t, ctx, `(() => { document.querySelector("#user-name").value = ""; document.querySelector("#user-password").value = ""; return true; })()`)
	run(t, ctx, "sign in as "+name, chromedp.SendKeys(chromedp.CSS("#user-name"), name),
		chromedp.SendKeys(chromedp.CSS("#user-password"), password+"\r"))
}

// fetchStatus makes a request from the page (its cookie) and returns the
// status and the error's code.
func fetchStatus(t *testing.T, ctx context.Context, method, path string, csrf bool) string {
	t.Helper()
	hdr := "{}"
	if csrf {
		hdr = `{"X-CSRF-Token": me.csrf_token}`
	}
	js := fmt.Sprintf(`(async () => {
		const me = await (await fetch("/api/v1/me")).json();
		const r = await fetch(%q, {method: %q, headers: %s});
		let code = "";
		try { code = (await r.json()).error.code; } catch (_) {}
		return r.status + " " + code;
	})()`, path, method, hdr)
	v, err := chromedp.Run(ctx, chromedp.Evaluate[string](js, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("fetch %s %s: %v", method, path, err)
	}
	return strings.TrimSpace(v)
}

func TestConsoleBrowserUsers(t *testing.T) {
	chromium(t)
	axeJS = loadAxe(t)
	t.Setenv("ERPIPE_NOW", "2026-02-10T09:00:00Z")
	ws, d, base := startAPI(t, saftSchedule, usersYAML(t))
	ledger, err := os.ReadFile(filepath.Join("..", "templates", "saft-no", "samples", "ledger.csv"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(ws, "data", "ledger"), 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(ws, "data", "ledger", "ledger.csv"), ledger)
	drop(t, filepath.Join(ws, "inbox", "customers-v3"), "broken.csv", []byte("Konto;Namn\n1;2\n"))
	var failedID string
	for _, j := range waitJobs(t, ws, 1) {
		if j.Status != "Failed" {
			t.Fatalf("the dropped file's job is %s", j.Status)
		}
		failedID = j.ID
	}

	ctx, _ := browserCtx(t, t.TempDir())
	run(t, ctx, "open the console", chromedp.Navigate(base+"/console/"))
	waitShown(t, ctx, "#signin-form")
	screensAndPhone(t, ctx, "sign-in-users")

	// A wrong password is refused with the API's words.
	signIn(t, ctx, "vera", "not-her-password")
	waitText(t, ctx, "#login-why", "the name or the password is wrong")

	// The viewer: the jobs, but no Retry and no Drop a file...
	signIn(t, ctx, "vera", "vera-password-1")
	waitText(t, ctx, "#whoami", "vera (viewer)")
	waitText(t, ctx, "#jobs-table tbody", "broken.csv")
	if n := count(t, ctx, `nav a[href="#/drop"]:not([hidden])`); n != 0 && eval[bool](t, ctx, `!document.querySelector('nav a[href="#/drop"]').closest("li").hidden`) {
		t.Error("a viewer is offered Drop a file")
	}
	run(t, ctx, "open the failed job", chromedp.Navigate(base+"/console/#/jobs/"+failedID))
	waitText(t, ctx, "#job-body", "Why it failed")
	if n := count(t, ctx, "#retry"); n != 0 {
		t.Error("a viewer is offered Retry")
	}
	screensAndPhone(t, ctx, "job-viewer")
	run(t, ctx, "open Drop a file", chromedp.Navigate(base+"/console/#/drop"))
	waitText(t, ctx, "#drop-refused", "operator role")
	if eval[bool](t, ctx, `!document.querySelector("#drop-form").hidden`) {
		t.Error("a viewer is shown the drop form")
	}
	// ...and the server refuses them: a retry and an upload made with the
	// viewer's session (and its CSRF token) are 403 for the role.
	if got := fetchStatus(t, ctx, "POST", "/api/v1/jobs/"+failedID+"/retry", true); got != "403 role" {
		t.Errorf("a viewer's retry: %s, want 403 role", got)
	}
	if got := fetchStatus(t, ctx, "POST", "/api/v1/pipelines/customers-v3/jobs?name=x.csv", true); got != "403 role" {
		t.Errorf("a viewer's upload: %s, want 403 role", got)
	}
	// Sign-out ends the session: the form again, and the cookie is
	// worth nothing.
	run(t, ctx, "sign out", chromedp.Click(chromedp.CSS("#signout")))
	waitShown(t, ctx, "#signin-form")
	if got := fetchStatus(t, ctx, "GET", "/api/v1/jobs", false); !strings.HasPrefix(got, "401") {
		t.Errorf("after sign-out: %s, want 401", got)
	}

	// The operator: a change without the session's CSRF token is refused;
	// with it, the retry is done.
	signIn(t, ctx, "otto", "otto-password-1")
	waitText(t, ctx, "#whoami", "otto (operator)")
	if got := fetchStatus(t, ctx, "POST", "/api/v1/jobs/"+failedID+"/retry", false); got != "403 csrf" {
		t.Errorf("a retry without the CSRF token: %s, want 403 csrf", got)
	}
	run(t, ctx, "open the failed job", chromedp.Navigate(base+"/console/#/jobs/"+failedID))
	waitShown(t, ctx, "#retry")
	run(t, ctx, "retry", chromedp.Click(chromedp.CSS("#retry")))
	waitText(t, ctx, "#alert", "back in pipeline customers-v3")

	// Schedules: the list, the schedule, a period run now.
	run(t, ctx, "open Schedules", chromedp.Navigate(base+"/console/#/schedules"))
	waitText(t, ctx, "#sch-table", "saft-monthly")
	screensAndPhone(t, ctx, "schedules")
	run(t, ctx, "open the schedule", chromedp.Click(chromedp.CSS(`tr[data-schedule="saft-monthly"] a`)))
	waitShown(t, ctx, "#run-form")
	if v := eval[string](t, ctx, `document.querySelector("#run-period").value`); v != "2026-01" {
		t.Errorf("the period a run now covers: %q, want 2026-01", v)
	}
	run(t, ctx, "run 2026-01 now", chromedp.Click(chromedp.CSS("#run-now")))
	waitText(t, ctx, "#alert", "saft-monthly 2026-01 was run")
	waitShown(t, ctx, `#periods-table tr[data-period="2026-01"][data-status="Produced"][data-version="1"]`)
	// A correction, with its reason.
	run(t, ctx, "correct 2026-01", chromedp.Click(chromedp.CSS(`button.correct[data-period="2026-01"]`)))
	waitShown(t, ctx, "#correct-reason")
	reason := "the ledger was exported before the last invoices were posted"
	run(t, ctx, "say why and send", chromedp.SendKeys(chromedp.CSS("#correct-reason"), reason), chromedp.Click(chromedp.CSS("#correct-send")))
	waitText(t, ctx, "#alert", "was corrected")
	waitShown(t, ctx, `#periods-table tr[data-period="2026-01"][data-status="Produced"][data-version="2"]`)
	run(t, ctx, "open the correction's receipt", chromedp.Click(chromedp.CSS(`tr[data-version="2"] button.receipt`)))
	waitText(t, ctx, "pre.receipt-text", reason)
	waitText(t, ctx, "pre.receipt-text", "user otto")
	screensAndPhone(t, ctx, "schedule")
	d.stop(t)
}

// The jobs list is paged by the API: 50 a page, newest first, Older and
// Newer, the total, and the search done by the API.
func TestConsoleBrowserJobsPages(t *testing.T) {
	chromium(t)
	axeJS = loadAxe(t)
	_, d, base := startAPI(t, "", "")
	const n = 57
	for i := range n {
		code, _, b := call(t, "POST", fmt.Sprintf("%s/api/v1/pipelines/customers-v3/jobs?name=file-%03d.csv", base, i), "hi",
			strings.NewReader(string(apiCustomers(fmt.Sprintf("P%03d", i), 2))))
		if code != 202 {
			t.Fatalf("upload %d: %d %s", i, code, b)
		}
	}
	ctx, _ := browserCtx(t, t.TempDir())
	run(t, ctx, "open the console", chromedp.Navigate(base+"/console/"))
	run(t, ctx, "sign in", chromedp.SendKeys(chromedp.CSS("#token"), tokenOf("hi")+"\r"))
	waitText(t, ctx, "#jobs-status", fmt.Sprintf("%d jobs, 1 to 50 shown.", n))
	if got := text(t, ctx, "#jobs-table tbody tr:first-child"); !strings.Contains(got, fmt.Sprintf("file-%03d.csv", n-1)) {
		t.Errorf("the first row is %q, want the newest job", got)
	}
	screensAndPhone(t, ctx, "jobs-paged")
	if shown := eval[string](t, ctx, `[...document.querySelectorAll("#jobs-pages button")].filter((b) => b.offsetParent !== null).map((b) => b.id).join(",")`); shown != "jobs-older" {
		t.Errorf("the first page offers %q, want jobs-older only", shown)
	}
	run(t, ctx, "older jobs", chromedp.Click(chromedp.CSS("#jobs-older")))
	waitText(t, ctx, "#jobs-status", fmt.Sprintf("%d jobs, 51 to %d shown.", n, n))
	waitText(t, ctx, "#jobs-table tbody", "file-000.csv")
	if c := count(t, ctx, "#jobs-table tbody tr[data-job]"); c != n-50 {
		t.Errorf("the second page has %d rows, want %d", c, n-50)
	}
	run(t, ctx, "newer jobs", chromedp.Click(chromedp.CSS("#jobs-newer")))
	waitText(t, ctx, "#jobs-status", "1 to 50 shown")
	run(t, ctx, "search", chromedp.SendKeys(chromedp.CSS("#f-search"), "file-042"))
	waitText(t, ctx, "#jobs-status", "1 job matches “file-042”.")
	waitText(t, ctx, "#jobs-table tbody", "file-042.csv")

	// A big file: while it is read, its row says how far. The reading
	// lasts a few seconds and the list refreshes every 4: the search is
	// asked again every 0.7 s here, as typing would, not to miss it.
	code, _, b := call(t, "POST", base+"/api/v1/pipelines/customers-v3/jobs?name=big.csv", "hi", strings.NewReader(string(apiCustomers("BIG", 600_000))))
	if code != 202 {
		t.Fatalf("upload big.csv: %d %s", code, b)
	}
	sel := `#jobs-table tbody tr[data-status="Processing"] td.why`
	js := fmt.Sprintf(`(() => {
		const s = document.querySelector("#f-search");
		if (!window.lastAsk || Date.now() - window.lastAsk > 700) { window.lastAsk = Date.now(); s.value = "big"; s.dispatchEvent(new Event("input")); }
		const e = document.querySelector(%q);
		return !!e && e.innerText.includes("rows/s") && e.innerText.includes("%% of the file");
	})()`, sel)
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](js, chromedp.WithPollingTimeout(60*time.Second), chromedp.WithPollingInterval(100*time.Millisecond))); err != nil {
		page, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body.innerText`))
		t.Fatalf("the big file's progress was not shown: %v\n%s", err, page)
	}
	if n := eval[int](t, ctx, `[...document.querySelectorAll("#jobs-pages button")].filter((b) => b.offsetParent !== null).length`); n != 0 {
		t.Errorf("a single page offers %d paging buttons", n)
	}
	screensAndPhone(t, ctx, "jobs-progress")
	d.stop(t)
}
