package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"
	"github.com/xuri/excelize/v2"
)

// The web console (console/) in a real headless Chromium, against the
// real daemon's HTTP server: sign in with a client's token, the jobs
// list, a job's rejected rows and a download, a retry, and files sent by
// drag and drop and by the file chooser; each main page is screenshot at
// 1280x800 and 390 pixels wide and checked by axe-core.

// chromium is the path of Chromium (Debian's chromium package). Without
// it the browser tests are skipped, unless ERPIPE_REQUIRE_CHROMIUM is
// set (scripts/test.sh sets it): then they fail.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "headless-shell"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("ERPIPE_REQUIRE_CHROMIUM") != "" {
		t.Fatal("ERPIPE_REQUIRE_CHROMIUM is set and Chromium is not installed (apt-get install chromium)")
	}
	t.Skip("Chromium is not installed (apt-get install chromium); set ERPIPE_REQUIRE_CHROMIUM=1 to fail instead")
	return ""
}

// browserCtx starts a headless Chromium at 1280x800 that saves downloads
// into dir; the returned function waits for a download to complete and
// returns its bytes.
func browserCtx(t *testing.T, dir string) (context.Context, func(what string) []byte) {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium(t)),
		chromedp.NoSandbox, // the tests may run as root
		chromedp.DisableGPU,
		chromedp.WindowSize(1280, 800),
		chromedp.Flag("disable-dev-shm-usage", true),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	var logMu sync.Mutex
	var logs []string
	logf := func(f string, a ...any) {
		logMu.Lock()
		logs = append(logs, fmt.Sprintf(f, a...))
		logMu.Unlock()
	}
	ctx, cancelCtx := chromedp.NewContext(actx, chromedp.WithLogf(logf), chromedp.WithErrorf(logf),
		chromedp.WithBrowserOption(chromedp.WithConsolef(logf)))
	t.Cleanup(func() {
		cancelCtx()
		cancelAlloc()
		if t.Failed() {
			logMu.Lock()
			t.Logf("chromedp log:\n%s", strings.Join(logs, "\n"))
			logMu.Unlock()
		}
	})
	// The first call starts the browser (without a timeout: it would
	// stop the browser).
	if _, err := chromedp.CallBrowser(ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
		Behavior: browser.SetDownloadBehaviorBehaviorAllowAndName, DownloadPath: dir, EventsEnabled: ptrTo(true)}); err != nil {
		t.Fatalf("start Chromium: %v", err)
	}
	done := make(chan string, 8)
	if err := chromedp.ListenBrowser(ctx, func(ev any) {
		if e, ok := ev.(*browser.EventDownloadProgress); ok && e.State == browser.DownloadProgressStateCompleted {
			done <- e.GUID
		}
	}); err != nil {
		t.Fatal(err)
	}
	wait := func(what string) []byte {
		t.Helper()
		select {
		case guid := <-done:
			return readFile(t, filepath.Join(dir, guid))
		case <-time.After(30 * time.Second):
			t.Fatalf("the download of %s did not complete", what)
			return nil
		}
	}
	return ctx, wait
}

func ptrTo[T any](v T) *T { return &v }

// run runs browser actions, failing the test with what and the page's
// text on an error. The actions are run on the browser's context as it
// is: a context derived from it (a timeout) and canceled leaves
// chromedp's later calls hanging, so waits are Polls with a timeout
// (waitText, waitShown) and actions are ones that do not wait.
func run(t *testing.T, ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, steps...); err != nil {
		page, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`location.href + "\n" + document.body.innerText`))
		t.Fatalf("%s: %v\nthe page:\n%s", what, err, page)
	}
}

// eval evaluates a JavaScript expression in the page.
func eval[T any](t *testing.T, ctx context.Context, expr string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// text is the visible text of the first element matching the CSS
// selector sel.
func text(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	waitShown(t, ctx, sel)
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		t.Fatalf("read %s: %v", sel, err)
	}
	return s
}

// waitText waits until the element matching sel is shown with want in
// its text.
func waitText(t *testing.T, ctx context.Context, sel, want string) {
	t.Helper()
	js := fmt.Sprintf(`(() => { const e = document.querySelector(%q); return !!e && e.offsetParent !== null && e.innerText.includes(%q); })()`, sel, want)
	_, err := chromedp.Run(ctx, chromedp.Poll[bool](js, chromedp.WithPollingTimeout(30*time.Second)))
	if err != nil {
		page, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`location.href + "\n" + document.body.innerText`))
		t.Fatalf("wait for %s to show %q: %v\nthe page:\n%s", sel, want, err, page)
	}
}

// waitShown waits until an element matching sel is shown.
func waitShown(t *testing.T, ctx context.Context, sel string) {
	t.Helper()
	waitText(t, ctx, sel, "")
}

// axeVersion is the axe-core that scripts/install-axe.sh installs.
const axeVersion = "4.14.1"

// axeJS is axe-core's axe.min.js, read by TestConsoleBrowser: "" when
// it is not installed (the accessibility check is then not made, unless
// ERPIPE_REQUIRE_AXE asks for it, as scripts/test.sh does).
var axeJS string

// loadAxe reads axe.min.js from $ERPIPE_AXE, or from where
// scripts/install-axe.sh puts it.
func loadAxe(t *testing.T) string {
	t.Helper()
	p := os.Getenv("ERPIPE_AXE")
	if p == "" {
		base := os.Getenv("ERPIPE_CACHE")
		if base == "" {
			if x := os.Getenv("XDG_CACHE_HOME"); x != "" {
				base = filepath.Join(x, "erpipe")
			} else if home, err := os.UserHomeDir(); err == nil {
				base = filepath.Join(home, ".cache", "erpipe")
			}
		}
		p = filepath.Join(base, "axe-core-"+axeVersion, "node_modules", "axe-core", "axe.min.js")
	}
	b, err := os.ReadFile(p)
	if err != nil {
		if os.Getenv("ERPIPE_REQUIRE_AXE") != "" {
			t.Fatalf("ERPIPE_REQUIRE_AXE is set and axe-core is not installed (bash scripts/install-axe.sh): %v", err)
		}
		t.Logf("axe-core is not installed (bash scripts/install-axe.sh): the pages' accessibility is not checked")
		return ""
	}
	return string(b)
}

// axeViolation is one of axe-core's findings.
type axeViolation struct {
	ID     string   `json:"id"`
	Impact string   `json:"impact"`
	Help   string   `json:"help"`
	Nodes  []string `json:"nodes"`
}

// checkAccessibility runs axe-core in the page and fails on its serious
// and critical violations.
func checkAccessibility(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	if axeJS == "" {
		return
	}
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`(() => { if (window.axe) return true; `+axeJS+`; return !!window.axe; })()`)); err != nil {
		t.Fatalf("load axe-core into the page: %v", err)
	}
	vs, err := chromedp.Run(ctx, chromedp.Evaluate[[]axeViolation](`axe.run(document, {resultTypes: ["violations"]}).then((r) =>
		r.violations.filter((v) => v.impact === "serious" || v.impact === "critical").map((v) =>
			({id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 5).map((n) => n.target.join(" "))})))`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("run axe-core on %s: %v", name, err)
	}
	for _, v := range vs {
		t.Errorf("accessibility of %s: %s (%s): %s, at %s", name, v.ID, v.Impact, v.Help, strings.Join(v.Nodes, "; "))
	}
}

// screens saves screenshots of the page at 1280x800 and on a 390-pixel
// wide phone screen (into $ERPIPE_ARTIFACTS/console when set, as test
// artefacts), and checks that the page fits the phone's width: only
// tables scroll sideways, in their own box.
func screens(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	dir := t.TempDir()
	if a := os.Getenv("ERPIPE_ARTIFACTS"); a != "" {
		dir = filepath.Join(a, "console")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	shot := func(file string) {
		t.Helper()
		png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
		if err != nil {
			t.Fatalf("screenshot %s: %v", file, err)
		}
		writeFile(t, filepath.Join(dir, file), png)
	}
	shot(name + "-1280.png")
	checkAccessibility(t, ctx, name)
	run(t, ctx, "a phone's screen", chromedp.EmulateViewport(390, 844))
	if w := eval[int](t, ctx, `document.documentElement.scrollWidth`); w > 390 {
		t.Errorf("%s is %d pixels wide on a 390-pixel screen", name, w)
	}
	shot(name + "-390.png")
	run(t, ctx, "back to 1280x800", chromedp.EmulateViewport(1280, 800))
}

// pick chooses value in the select sel as a user does (a change event).
func pick(t *testing.T, ctx context.Context, sel, value string) {
	t.Helper()
	eval[bool](t, ctx, fmt.Sprintf(`(() => { const s = document.querySelector(%q); s.value = %q; s.dispatchEvent(new Event("change")); return s.value === %q; })()`, sel, value, value))
}

func TestConsoleBrowser(t *testing.T) {
	chromium(t) // before the daemon: a missing Chromium says so first
	axeJS = loadAxe(t)
	ws, d, base := startAPI(t, "", "")
	client := "hi"

	// Three jobs through the API: one processed, one with a rejected
	// row, one failed.
	upload := func(name string, body []byte) apiJob {
		t.Helper()
		code, _, b := call(t, "POST", base+"/api/v1/pipelines/customers-v3/jobs?name="+name, client, bytes.NewReader(body))
		var j apiJob
		if code != 202 || json.Unmarshal(b, &j) != nil {
			t.Fatalf("upload %s: %d %s", name, code, b)
		}
		return waitAPIJob(t, base, client, j.ID)
	}
	good := upload("good.csv", apiCustomers("GOOD", 3))
	lines := strings.Split(strings.TrimSpace(string(apiCustomers("MIX", 3))), "\n")
	lines[2] = strings.Replace(lines[2], "Customer MIX 1", "", 1) // a customer without a name
	mixed := upload("mixed.csv", []byte(strings.Join(lines, "\n")+"\n"))
	failed := upload("broken.csv", []byte("Konto;Namn\n1;2\n"))
	if good.Status != "Processed" || mixed.Status != "ProcessedWithErrors" || failed.Status != "Failed" {
		t.Fatalf("the jobs are %s, %s, %s; want Processed, ProcessedWithErrors, Failed", good.Status, mixed.Status, failed.Status)
	}

	downloads := t.TempDir()
	ctx, downloaded := browserCtx(t, downloads)

	// / sends the browser to the console, which asks for a token: the
	// API answered 401 and the form says why.
	run(t, ctx, "open the console", chromedp.Navigate(base+"/"))
	waitShown(t, ctx, "#token")
	checkAccessibility(t, ctx, "sign-in")
	loc := eval[string](t, ctx, "location.href")
	if !strings.HasPrefix(loc, base+"/console/") {
		t.Errorf("/ led to %s, want the console", loc)
	}
	if why := text(t, ctx, "#login-why"); !strings.Contains(why, "Authorization: Bearer") {
		t.Errorf("the sign-in form says %q, want the API's reason", why)
	}
	// A wrong token: the API's message, and the form again.
	run(t, ctx, "sign in with a wrong token", chromedp.SendKeys(chromedp.CSS("#token"), "not-a-token"), chromedp.Click(chromedp.CSS("#login-form button")))
	waitText(t, ctx, "#login-why", "the token is not known")
	// The right one, with the keyboard only (Enter submits the form).
	run(t, ctx, "sign in", chromedp.SendKeys(chromedp.CSS("#token"), tokenOf(client)+"\r"))

	// The list: the three jobs, with the failure's reason.
	waitText(t, ctx, "#jobs-table tbody", "broken.csv")
	for _, j := range []apiJob{good, mixed, failed} {
		waitShown(t, ctx, fmt.Sprintf(`tr[data-job=%q][data-status=%q]`, j.ID, j.Status))
	}
	row := text(t, ctx, fmt.Sprintf(`tr[data-job=%q]`, failed.ID))
	if !strings.Contains(row, "Failed") || !strings.Contains(row, "customers-v3") || len(strings.TrimSpace(row)) < 40 {
		t.Errorf("the failed job's row says %q, want its status, pipeline and reason", row)
	}
	if row := text(t, ctx, fmt.Sprintf(`tr[data-job=%q]`, mixed.ID)); !strings.Contains(row, "Processed with errors") || !strings.Contains(row, "3\t2\t1") {
		t.Errorf("the mixed job's row says %q, want 3 read, 2 written, 1 rejected", row)
	}
	// Filters: by status (the API's filter) and the search box.
	pick(t, ctx, "#f-status", "Failed")
	waitText(t, ctx, "#jobs-status", "1 job.")
	if n := count(t, ctx, "#jobs-table tbody tr[data-job]"); n != 1 {
		t.Errorf("filtered by Failed: %d rows, want 1", n)
	}
	screens(t, ctx, "jobs-failed")
	pick(t, ctx, "#f-status", "")
	waitText(t, ctx, "#jobs-status", "3 jobs.")
	run(t, ctx, "search", chromedp.SendKeys(chromedp.CSS("#f-search"), "mixed"))
	waitText(t, ctx, "#jobs-status", "1 job matches")
	if n := count(t, ctx, "#jobs-table tbody tr[data-job]"); n != 1 {
		t.Errorf("searching mixed: %d rows, want 1", n)
	}

	// The job with a rejected row: its page, the row and its error, the
	// downloads of the output and of the rejected rows.
	run(t, ctx, "open the mixed job", chromedp.Click(chromedp.CSS(fmt.Sprintf(`tr[data-job=%q] a`, mixed.ID))))
	waitText(t, ctx, "#job-title", "mixed.csv")
	// A CSV's rejected rows are text fields, to be corrected in the page.
	waitText(t, ctx, "table.rejected", "a value is required")
	cells := eval[string](t, ctx, `[...document.querySelectorAll("table.rejected tbody input")].map((i) => i.value).join(",")`)
	if !strings.HasPrefix(cells, "MIX-0001,,10,USD") || strings.Contains(cells, "MIX-0000") {
		t.Errorf("the rejected rows table holds %q, want MIX-0001 (its name blank) only", cells)
	}
	// The cell at fault is marked: the blank Name, the third column.
	if n := eval[int](t, ctx, `[...document.querySelectorAll("table.rejected tbody td")].findIndex((td) => td.classList.contains("fault"))`); n != 2 {
		t.Errorf("the cell marked at fault is column %d of the table, want 2 (Name)", n)
	}
	if s := text(t, ctx, "#job-body .summary"); !strings.Contains(s, "3 rows read, 2 written, 1 rejected") {
		t.Errorf("the report in words: %q", s)
	}
	screens(t, ctx, "job-rejected-rows")
	audit := text(t, ctx, "dl.audit")
	contains(t, "the audit trail", audit, "Input SHA-256", "Template", "customers-v3", "folder")
	run(t, ctx, "download the output", chromedp.Click(chromedp.CSS("button.download")))
	got := downloaded("the output")
	if want := readFile(t, filepath.Join(ws, "outbox", "customers-v3", mixed.Outputs[0].Name)); !bytes.Equal(got, want) {
		t.Errorf("the downloaded output is %d bytes, not the outbox's %d", len(got), len(want))
	}
	run(t, ctx, "download the rejected rows", chromedp.Click(chromedp.CSS("#download-rejected")))
	if got := string(downloaded("the rejected rows")); !strings.Contains(got, "MIX-0001") || !strings.Contains(got, "erpipe error") {
		t.Errorf("the downloaded rejected rows: %q", got)
	}

	// Fix and resubmit: the blank name is filled in the page and the
	// corrected row sent as a new file, a job of its own that is Processed.
	run(t, ctx, "fill in the name", chromedp.SendKeys(chromedp.CSS("table.rejected td.fault input"), "Customer MIX 1"),
		chromedp.Click(chromedp.CSS("#resubmit")))
	waitText(t, ctx, "#job-title", "mixed-corrected.csv")
	waitText(t, ctx, "#job-body .summary", "1 row read, 1 written, 0 rejected")
	waitText(t, ctx, "#job-body .summary", "Processed")
	if code, _, b := call(t, "GET", base+"/api/v1/jobs/"+mixed.ID, client, nil); code != 200 || !strings.Contains(string(b), `"status":"ProcessedWithErrors"`) {
		t.Errorf("the corrected job is not its own: the first job is now %d %s", code, b)
	}

	// The failed job: its reason, and a retry through the API.
	run(t, ctx, "open the failed job", chromedp.Navigate(base+"/console/#/jobs/"+failed.ID))
	waitText(t, ctx, "#job-body", "Why it failed")
	screens(t, ctx, "job-failed")
	run(t, ctx, "retry", chromedp.Click(chromedp.CSS("#retry")))
	waitText(t, ctx, "#alert", "back in pipeline customers-v3")
	waitFor(t, 30*time.Second, "the retried job", func() bool {
		n := 0
		for _, j := range listJobs(t, ws) {
			if j.Input == "broken.csv" {
				n++
			}
		}
		return n == 2
	})

	// A workbook's rejected rows are a workbook too: the page reads it.
	book := excelize.NewFile()
	for r, line := range lines {
		for c, v := range strings.Split(line, ",") {
			cell, _ := excelize.CoordinatesToCellName(c+1, r+1)
			if err := book.SetCellStr("Sheet1", cell, v); err != nil {
				t.Fatal(err)
			}
		}
	}
	var xb bytes.Buffer
	if err := book.Write(&xb); err != nil {
		t.Fatal(err)
	}
	workbook := upload("mixed.xlsx", xb.Bytes())
	if workbook.Status != "ProcessedWithErrors" {
		t.Fatalf("the workbook's job is %s, want ProcessedWithErrors", workbook.Status)
	}
	run(t, ctx, "open the workbook's job", chromedp.Navigate(base+"/console/#/jobs/"+workbook.ID))
	waitText(t, ctx, "table.rejected", "a value is required")
	if cells := eval[string](t, ctx, `[...document.querySelectorAll("table.rejected tbody input")].map((i) => i.value).join(",")`); !strings.HasPrefix(cells, "MIX-0001,,10,USD") {
		t.Errorf("the workbook's rejected rows table holds %q, want MIX-0001 (its name blank)", cells)
	}
	if rej := text(t, ctx, "table.rejected"); !strings.Contains(rej, "What to fix") || !strings.Contains(rej, "Customer group") ||
		!strings.Contains(rej, "a value is required") || strings.Contains(rej, "MIX-0000") {
		t.Errorf("the workbook's rejected rows table: %q", rej)
	}
	// Its rows are corrected in the page too, and come back as a
	// workbook, mixed-corrected.xlsx, a job of its own that is Processed.
	run(t, ctx, "fill in the workbook's name", chromedp.SendKeys(chromedp.CSS("table.rejected td.fault input"), "Customer MIX 1"),
		chromedp.Click(chromedp.CSS("#resubmit")))
	waitText(t, ctx, "#job-title", "mixed-corrected.xlsx")
	waitText(t, ctx, "#job-body .summary", "1 row read, 1 written, 0 rejected")
	waitText(t, ctx, "#job-body .summary", "Processed")

	// Drop a file: drag and drop onto the zone (a real drag of a file,
	// through Chromium's input), then the job's page.
	dropped := filepath.Join(t.TempDir(), "dropped.csv")
	writeFile(t, dropped, apiCustomers("DROP", 4))
	run(t, ctx, "open Drop a file", chromedp.Navigate(base+"/console/#/drop"))
	waitText(t, ctx, "#d-pipeline", "customers-v3")
	pick(t, ctx, "#d-pipeline", "customers-v3")
	screens(t, ctx, "drop")
	box := eval[[]float64](t, ctx, `(() => { const r = document.querySelector("#dropzone").getBoundingClientRect(); return [r.x + r.width/2, r.y + r.height/2]; })()`)
	data := &input.DragData{Items: []*input.DragDataItem{}, Files: []string{dropped}, DragOperationsMask: 1}
	for _, typ := range []input.DispatchDragEventType{input.DispatchDragEventTypeDragEnter, input.DispatchDragEventTypeDragOver, input.DispatchDragEventTypeDrop} {
		if _, err := chromedp.Call(ctx, input.DispatchDragEvent, input.DispatchDragEventParams{Type: typ, X: box[0], Y: box[1], Data: data}); err != nil {
			t.Fatalf("drag the file onto the zone (%s): %v", typ, err)
		}
	}
	waitText(t, ctx, "#job-title", "dropped.csv")
	waitText(t, ctx, "#job-body .summary", "Processed")
	waitText(t, ctx, "#job-body .summary", "4 rows read, 4 written, 0 rejected")

	// A file the pipeline does not take: the API's reason, in words.
	refused := filepath.Join(t.TempDir(), "notes.pdf")
	writeFile(t, refused, []byte("%PDF-1.4\n"))
	run(t, ctx, "open Drop a file", chromedp.Navigate(base+"/console/#/drop"))
	waitText(t, ctx, "#d-pipeline", "customers-v3")
	pick(t, ctx, "#d-pipeline", "customers-v3")
	run(t, ctx, "choose a PDF", chromedp.SetUploadFiles(chromedp.CSS("#d-file"), []string{refused}))
	waitText(t, ctx, "#alert", "notes.pdf was not taken: pipeline customers-v3 cannot take a file named \"notes.pdf\"")

	// ...and with the file chooser (what a keyboard user does).
	chosen := filepath.Join(t.TempDir(), "chosen.csv")
	writeFile(t, chosen, apiCustomers("PICK", 2))
	run(t, ctx, "open Drop a file", chromedp.Navigate(base+"/console/#/drop"))
	waitText(t, ctx, "#d-pipeline", "customers-v3")
	pick(t, ctx, "#d-pipeline", "customers-v3")
	run(t, ctx, "choose the file", chromedp.SetUploadFiles(chromedp.CSS("#d-file"), []string{chosen}))
	waitText(t, ctx, "#job-title", "chosen.csv")
	waitText(t, ctx, "#job-body .summary", "2 rows read, 2 written")

	// The list shows the new jobs; the token is in no URL the page went to.
	run(t, ctx, "back to the list", chromedp.Navigate(base+"/console/#/jobs"))
	eval[bool](t, ctx, `(() => { const s = document.querySelector("#f-search"); s.value = ""; s.dispatchEvent(new Event("input")); return true; })()`)
	waitText(t, ctx, "#jobs-table tbody", "dropped.csv")
	waitText(t, ctx, "#jobs-table tbody", "chosen.csv")
	screens(t, ctx, "jobs")
	history := eval[string](t, ctx, "location.href")
	if strings.Contains(history, tokenOf(client)) || strings.Contains(d.logs.String(), tokenOf(client)) {
		t.Error("the token is in the page's URL or the daemon's log")
	}
	d.stop(t)
}

// count is the number of elements matching sel.
func count(t *testing.T, ctx context.Context, sel string) int {
	t.Helper()
	return eval[int](t, ctx, fmt.Sprintf(`document.querySelectorAll(%q).length`, sel))
}

// Without clients, on loopback, the API is open to this machine, and so
// is the console: no token is asked, and there is none to forget.
func TestConsoleBrowserOpenLoopback(t *testing.T) {
	chromium(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	ws := t.TempDir()
	writeFile(t, filepath.Join(ws, "erpipe.yaml"), []byte("settle: 1s\nrescan: 1s\nhttp:\n  listen: "+addr+"\n"))
	base := "http://" + addr
	d := startDaemonEnv(t, ws, nil, "the HTTP API to be ready", func(*daemon) bool {
		resp, err := http.Get(base + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	})
	drop(t, filepath.Join(ws, "inbox", "customers-v3"), "inbox.csv", apiCustomers("INBOX", 2))
	waitJobs(t, ws, 1)

	ctx, _ := browserCtx(t, t.TempDir())
	run(t, ctx, "open the console", chromedp.Navigate(base+"/console/"))
	// A file dropped into the inbox is in the list like an uploaded one.
	waitText(t, ctx, "#jobs-table tbody", "inbox.csv")
	if n := eval[int](t, ctx, `document.querySelectorAll("#view-login:not([hidden]), #signout:not([hidden])").length`); n != 0 {
		t.Error("the console asks for a token (or offers to forget one) where the API is open")
	}
	d.stop(t)
}
