// erpipe console: a client of erpipe's JSON API (docs/api.md), in plain
// JavaScript. Signed in with an API token, it keeps the token in this
// tab's sessionStorage and sends it as a bearer token, never in a URL.
// Signed in as a user (name and password), the browser holds the
// session's HttpOnly cookie and the console sends the session's CSRF
// token (from GET /api/v1/me, kept in memory only) with every change.
"use strict";

(function () {
  const TOKEN_KEY = "erpipe.token";
  const REFRESH_MS = 4000;
  const PAGE_SIZE = 50;

  const $ = (sel, root) => (root || document).querySelector(sel);

  // el makes an element: el("a", {href: "#"}, "text", child...). Text is
  // always set as text, never parsed as HTML.
  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k === "class") e.className = v;
      else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
      else e.setAttribute(k, v === true ? "" : v);
    }
    for (const c of children.flat(Infinity)) {
      if (c === undefined || c === null || c === false) continue;
      e.append(c instanceof Node ? c : String(c));
    }
    return e;
  }

  // ---- the API ----

  function token() { return sessionStorage.getItem(TOKEN_KEY) || ""; }

  // me is who the API says the console is signed in as (GET /api/v1/me):
  // its role, what the role may do, and a session's CSRF token.
  let me = null;
  // may reports whether the role may do what: "operate" (upload, retry,
  // fix and resubmit, run schedules), "author" or "admin". The buttons
  // it may not use are not shown; the API refuses them anyway.
  function may(what) { return !!me && (me.may || []).includes(what); }

  class APIError extends Error {
    constructor(status, code, message) {
      super(message);
      this.status = status;
      this.code = code;
    }
  }

  function headers(extra, method) {
    const h = Object.assign({}, extra || {});
    if (token()) h["Authorization"] = "Bearer " + token();
    else if (me && me.csrf_token && method && method !== "GET" && method !== "HEAD") h["X-CSRF-Token"] = me.csrf_token;
    return h;
  }

  // problem turns an answer that is not 2xx into an APIError carrying the
  // API's message ({"error":{"code","message"}}).
  async function problem(resp) {
    let code = "http_" + resp.status, message = "", problems = null;
    try {
      const body = await resp.json();
      if (body && body.error) { code = body.error.code || code; message = body.error.message || ""; }
      if (body && body.problems) problems = body.problems; // a template's, from the workbench
    } catch (_) { /* not JSON */ }
    if (!message) message = "erpipe answered " + resp.status + " " + resp.statusText;
    const wait = resp.headers.get("Retry-After");
    if (wait && !/ try again| wait /.test(message)) message += " (try again in " + wait + " s)";
    const err = new APIError(resp.status, code, message);
    if (problems) err.problems = problems;
    return err;
  }

  // api calls the API and returns the answer's JSON (or the Response when
  // raw). A 401 shows the sign-in form with the API's reason.
  async function api(path, opts) {
    opts = opts || {};
    let resp;
    try {
      resp = await fetch(path, { method: opts.method || "GET", headers: headers(opts.headers, opts.method || "GET"), body: opts.body, cache: "no-store", credentials: "same-origin" });
    } catch (e) {
      throw new APIError(0, "network", "erpipe did not answer (" + e.message + "); is erpipe run still running?");
    }
    if (!resp.ok) {
      const err = await problem(resp);
      if (resp.status === 401) needToken(err.message, /password/.test(resp.headers.get("X-Erpipe-Sign-In") || ""));
      throw err;
    }
    if (opts.raw) return resp;
    return resp.json();
  }

  // ---- messages ----

  function showAlert(message, info) {
    const a = $("#alert");
    a.textContent = message;
    a.classList.toggle("info", !!info);
    a.hidden = false;
  }
  function clearAlert() { $("#alert").hidden = true; $("#alert").textContent = ""; }
  function report(err) {
    if (err instanceof APIError && err.status === 401) return; // the sign-in form says it
    showAlert(err instanceof APIError ? err.message : "Something went wrong in the console: " + err.message);
  }

  // ---- views ----

  let timer = null;
  let generation = 0; // bumped on each navigation; stale refreshes stop

  function show(id) {
    for (const s of document.querySelectorAll("main > section")) s.hidden = s.id !== id;
    for (const a of document.querySelectorAll("[data-nav]")) {
      if (("view-" + a.dataset.nav) === id) a.setAttribute("aria-current", "page");
      else a.removeAttribute("aria-current");
    }
    const signedIn = !!token() || (!!me && me.via === "session");
    $("#signout").hidden = !signedIn;
    $("#signout").textContent = token() ? "Forget my token" : "Sign out";
    $("#whoami").hidden = !me || !signedIn;
    if (me) $("#whoami").textContent = (me.name || "") + " (" + me.role + ")";
    for (const a of document.querySelectorAll("[data-may]")) a.closest("li").hidden = !may(a.dataset.may);
  }

  function needToken(why, users) {
    clearTimeout(timer);
    generation++;
    me = null;
    show("view-login");
    // The name and password form is there when erpipe has users.
    $("#signin-form").hidden = !users;
    $("#token-title").textContent = users ? "Or with an API token" : "With an API token";
    $("#login-why").textContent = token()
      ? "erpipe did not take the token: " + why
      : "erpipe asks you to sign in: " + why;
    document.title = "Sign in · erpipe console";
    $(users ? "#user-name" : "#token").focus();
  }

  // whoAmI asks the API who the console is signed in as, then routes.
  function whoAmI(gen) {
    api("/api/v1/me").then((m) => {
      if (gen !== generation) return;
      me = m;
      route();
    }).catch((err) => { if (gen === generation) report(err); });
  }

  function route() {
    clearTimeout(timer);
    clearAlert();
    const gen = ++generation;
    if (!me) return whoAmI(gen);
    const hash = location.hash.replace(/^#/, "");
    const parts = hash.split("/").filter(Boolean).map(decodeURIComponent);
    if (parts[0] === "jobs" && parts[1]) return jobPage(parts[1], gen, true);
    if (parts[0] === "drop") return dropPage(gen);
    if (parts[0] === "schedules" && window.erpipeSchedules) return window.erpipeSchedules.route(parts.slice(1), gen); // schedules.js
    if (parts[0] === "templates" && window.erpipeWorkbench) return window.erpipeWorkbench.route(parts.slice(1), gen); // workbench.js
    return jobsPage(gen, true);
  }

  function later(gen, fn) {
    clearTimeout(timer);
    timer = setTimeout(() => { if (gen === generation) fn(); }, REFRESH_MS);
  }

  // ---- formatting ----

  const statusWords = {
    Enqueued: "Enqueued", Processing: "Processing", Processed: "Processed",
    ProcessedWithErrors: "Processed with errors", Failed: "Failed", Duplicate: "Duplicate",
  };
  function badge(status) {
    return el("span", { class: "badge s-" + status }, statusWords[status] || status);
  }
  function when(t) {
    if (!t) return "";
    const d = new Date(t);
    return isNaN(d) ? t : d.toLocaleString();
  }
  function timeEl(t) { return t ? el("time", { datetime: t }, when(t)) : "—"; }
  function size(n) {
    if (n === undefined || n === null) return "";
    if (n < 1024) return n + " bytes";
    const u = ["KiB", "MiB", "GiB", "TiB"];
    let i = -1;
    do { n /= 1024; i++; } while (n >= 1024 && i < u.length - 1);
    return n.toFixed(1) + " " + u[i];
  }
  function plural(n, one, many) { return n + " " + (n === 1 ? one : many); }
  function jobHref(id) { return "#/jobs/" + encodeURIComponent(id); }

  // why is what a list row says beside a job: the reason of a failure,
  // what a waiting job waits for.
  function why(j) {
    if (j.status === "Failed" && j.errors && j.errors.length) return j.errors[0];
    if (j.pending && j.pending.length) return "Waiting for " + j.pending.join("; ");
    if (j.status === "Enqueued") return "Waiting for a worker";
    if (j.status === "Processing") return "Running the template or delivering";
    if (j.status === "Duplicate") return j.duplicate_of ? "Same content as job " + j.duplicate_of : "Same content as an earlier job";
    if (j.delivery_problems && j.delivery_problems.length) return j.delivery_problems[0];
    if (j.status === "ProcessedWithErrors" && j.errors && j.errors.length) return j.errors[0];
    return "";
  }

  // ---- the jobs list ----

  let pipelinesCache = null;
  async function pipelines() {
    if (!pipelinesCache) pipelinesCache = (await api("/api/v1/pipelines")).pipelines || [];
    return pipelinesCache;
  }

  function fillPipelines(select, anyText) {
    return pipelines().then((list) => {
      const keep = select.value;
      select.replaceChildren();
      if (anyText !== undefined) select.append(el("option", { value: "" }, anyText));
      for (const p of list) select.append(el("option", { value: p.name }, p.name));
      if ([...select.options].some((o) => o.value === keep)) select.value = keep;
      return list;
    });
  }

  // The jobs list is paged by the API, newest first: the filters and the
  // search are the API's too (GET /api/v1/jobs?page_size=&cursor=&q=), so
  // it stays quick with 100,000 jobs in the journal. pageStack holds the
  // cursors of the pages before the one shown ("" for the first).
  let lastJobs = [], lastJSON = "", lastTotal = 0;
  let pageCursor = "", nextCursor = "", pageStack = [];

  // restartPaging goes back to the first page (the filters changed).
  function restartPaging() { pageCursor = ""; nextCursor = ""; pageStack = []; }

  function jobsPage(gen, first) {
    show("view-jobs");
    if (first) {
      document.title = "Jobs · erpipe console";
      fillPipelines($("#f-pipeline"), "Any pipeline").catch(report);
    }
    const status = $("#f-status").value, pipeline = $("#f-pipeline").value, search = $("#f-search").value.trim();
    const q = new URLSearchParams({ page_size: String(PAGE_SIZE) });
    if (status) q.set("status", status);
    if (pipeline) q.set("pipeline", pipeline);
    if (search) q.set("q", search);
    if (pageCursor) q.set("cursor", pageCursor);
    api("/api/v1/jobs?" + q).then((body) => {
      if (gen !== generation) return;
      const json = JSON.stringify([body.jobs || [], body.total, body.cursor || "", search]);
      // Redrawn only on a change: a redraw would take the keyboard's
      // focus off a link in the table, and announce the count again.
      if (json !== lastJSON || first) {
        lastJSON = json; lastJobs = body.jobs || []; lastTotal = body.total || 0; nextCursor = body.cursor || "";
        renderJobs(search);
      }
      $("#jobs-updated").textContent = "Updated " + new Date().toLocaleTimeString() + ".";
      clearAlert();
      later(gen, () => jobsPage(gen, false));
    }).catch((err) => {
      if (gen !== generation) return;
      if (err instanceof APIError && err.code === "bad_cursor") { restartPaging(); later(gen, () => jobsPage(gen, true)); return; }
      report(err);
      if (!(err instanceof APIError && err.status === 401)) later(gen, () => jobsPage(gen, false));
    });
  }

  // progressText says how far a running job is: rows read, the rate and
  // the share of its input, as the journal records them.
  function progressText(p) {
    if (!p) return "";
    let t = "Read " + p.rows.toLocaleString() + " rows";
    if (p.rows_per_second) t += ", " + Math.round(p.rows_per_second).toLocaleString() + " rows/s";
    if (p.percent) t += ", " + p.percent + "% of the file";
    return t;
  }

  function renderJobs(search) {
    // data-label names each cell on a phone, where rows become cards.
    const rows = lastJobs.map((j) => el("tr", { "data-job": j.id, "data-status": j.status },
      el("td", { "data-label": "Status" }, badge(j.status)),
      el("td", { "data-label": "File" }, el("a", { href: jobHref(j.id) }, j.input || j.id)),
      el("td", { "data-label": "Pipeline" }, j.pipeline),
      el("td", { class: "num", "data-label": "Read" }, j.progress && !j.rows_read ? j.progress.rows : j.rows_read),
      el("td", { class: "num", "data-label": "Written" }, j.rows_written),
      el("td", { class: "num", "data-label": "Rejected" }, j.rows_rejected),
      el("td", { "data-label": "Started" }, timeEl(j.started || j.created)),
      el("td", { class: "why", "data-label": "Why / waiting for" }, j.progress
        ? [progressText(j.progress), j.progress.percent ? el("progress", { max: "100", value: String(j.progress.percent), "aria-label": "Progress of " + j.input }) : null]
        : why(j))));
    if (!rows.length) rows.push(el("tr", {}, el("td", { colspan: "8" }, search || $("#f-status").value || $("#f-pipeline").value ? "No job matches." : "No jobs yet.")));
    $("#jobs-table tbody").replaceChildren(...rows);
    const from = pageStack.length * PAGE_SIZE + 1, to = pageStack.length * PAGE_SIZE + lastJobs.length;
    $("#jobs-status").textContent = plural(lastTotal, "job", "jobs") + (search ? (lastTotal === 1 ? " matches" : " match") + " “" + search + "”" : "") +
      (lastTotal > lastJobs.length && lastJobs.length ? ", " + from + " to " + to + " shown" : "") + ".";
    $("#jobs-newer").hidden = pageStack.length === 0;
    $("#jobs-older").hidden = !nextCursor;
    $("#jobs-pages").hidden = $("#jobs-newer").hidden && $("#jobs-older").hidden;
  }

  // ---- the job page ----

  // summary is the job's report in words.
  function summary(j) {
    const tmpl = j.template ? "template " + j.template + (j.template_version ? " " + j.template_version : "") : "its template";
    const rows = plural(j.rows_read, "row", "rows") + " read, " + j.rows_written + " written, " + j.rows_rejected + " rejected";
    switch (j.status) {
      case "Enqueued": return j.input + " was taken by pipeline " + j.pipeline + " and waits for a worker.";
      case "Processing": return j.input + " is being processed by pipeline " + j.pipeline + " with " + tmpl +
        (j.progress ? " (" + progressText(j.progress).toLowerCase() + " so far)." : " (" + rows + " so far).");
      case "Processed": return j.input + " was processed by pipeline " + j.pipeline + " with " + tmpl + ": " + rows +
        ". " + (j.outputs.length ? "Every row reached every destination." : "");
      case "ProcessedWithErrors": return j.input + " was processed by pipeline " + j.pipeline + " with " + tmpl + ": " + rows +
        ". The rows that were left out are listed below with what to fix; correct them and drop them again.";
      case "Failed": return j.input + " failed in pipeline " + j.pipeline + ": nothing was delivered. The reason is below; the input is kept in the errors folder. Fix the cause, then retry.";
      case "Duplicate": return j.input + " has the same content as an earlier job of pipeline " + j.pipeline + ", so it was archived and not processed again.";
    }
    return j.input + ": " + j.status;
  }

  function messages(title, list, cls) {
    if (!list || !list.length) return null;
    return el("section", { "aria-label": title },
      el("h2", {}, title),
      el("ul", { class: "messages" + (cls ? " " + cls : "") }, list.map((m) => el("li", {}, m))));
  }

  // download fetches a file of the API with the token and hands it to the
  // browser as a download (a link could not send the token).
  async function download(url, name, button) {
    button.disabled = true;
    const was = button.textContent;
    button.textContent = "Downloading…";
    try {
      const resp = await api(url, { raw: true });
      const blob = await resp.blob();
      const href = URL.createObjectURL(blob);
      const a = el("a", { href: href, download: name, hidden: true });
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(href), 60000);
      showAlert("Downloaded " + name + " (" + size(blob.size) + ").", true);
    } catch (err) {
      report(err);
    } finally {
      button.disabled = false;
      button.textContent = was;
    }
  }

  // parseCSV reads CSV text (quotes, doubled quotes, new lines in quotes)
  // with the given separator.
  function parseCSV(text, sep) {
    const rows = [];
    let row = [], cell = "", quoted = false;
    for (let i = 0; i < text.length; i++) {
      const c = text[i];
      if (quoted) {
        if (c === '"') {
          if (text[i + 1] === '"') { cell += '"'; i++; } else quoted = false;
        } else cell += c;
      } else if (c === '"') quoted = true;
      else if (c === sep) { row.push(cell); cell = ""; }
      else if (c === "\n" || c === "\r") {
        if (c === "\r" && text[i + 1] === "\n") i++;
        row.push(cell); rows.push(row); row = []; cell = "";
      } else cell += c;
    }
    if (cell !== "" || row.length) { row.push(cell); rows.push(row); }
    return rows;
  }

  // unzip returns the entries of a zip (an XLSX workbook) whose names
  // want accepts, as text: stored and deflated entries (the browser's
  // DecompressionStream inflates).
  async function unzip(bytes, want) {
    const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    let eocd = -1;
    for (let i = bytes.length - 22; i >= Math.max(0, bytes.length - 65557); i--) {
      if (dv.getUint32(i, true) === 0x06054b50) { eocd = i; break; }
    }
    if (eocd < 0) throw new Error("the workbook is not a readable zip file");
    const count = dv.getUint16(eocd + 10, true);
    let p = dv.getUint32(eocd + 16, true);
    const out = {};
    for (let n = 0; n < count; n++) {
      if (dv.getUint32(p, true) !== 0x02014b50) throw new Error("the workbook's zip directory is broken");
      const method = dv.getUint16(p + 10, true), size = dv.getUint32(p + 20, true);
      const nameLen = dv.getUint16(p + 28, true), extraLen = dv.getUint16(p + 30, true), commentLen = dv.getUint16(p + 32, true);
      const local = dv.getUint32(p + 42, true);
      const name = new TextDecoder().decode(bytes.subarray(p + 46, p + 46 + nameLen));
      p += 46 + nameLen + extraLen + commentLen;
      if (!want(name)) continue;
      const start = local + 30 + dv.getUint16(local + 26, true) + dv.getUint16(local + 28, true);
      const data = bytes.subarray(start, start + size);
      if (method === 0) out[name] = new TextDecoder().decode(data);
      else if (method === 8) out[name] = await new Response(new Blob([data]).stream().pipeThrough(new DecompressionStream("deflate-raw"))).text();
      else throw new Error("the workbook uses a zip compression the console does not read");
    }
    return out;
  }

  // readXLSX returns the rows of a workbook's first sheet as text.
  async function readXLSX(bytes) {
    const files = await unzip(bytes, (n) => n === "xl/sharedStrings.xml" || /^xl\/worksheets\/[^/]+\.xml$/.test(n));
    const xml = (t) => new DOMParser().parseFromString(t, "application/xml");
    const all = (doc, tag) => [...doc.getElementsByTagNameNS("*", tag)];
    const strings = files["xl/sharedStrings.xml"]
      ? all(xml(files["xl/sharedStrings.xml"]), "si").map((si) => all(si, "t").map((t) => t.textContent).join(""))
      : [];
    const sheet = Object.keys(files).filter((n) => n.startsWith("xl/worksheets/")).sort()[0];
    if (!sheet) throw new Error("the workbook has no sheet");
    const rows = [];
    for (const r of all(xml(files[sheet]), "row")) {
      const row = [];
      for (const c of all(r, "c")) {
        const ref = (c.getAttribute("r") || "").replace(/[0-9]+$/, "");
        let col = row.length;
        if (ref) { col = 0; for (const ch of ref) col = col * 26 + ch.charCodeAt(0) - 64; col--; }
        const v = all(c, "v")[0], type = c.getAttribute("t");
        let text = "";
        if (type === "s") text = strings[parseInt(v ? v.textContent : "", 10)] || "";
        else if (type === "inlineStr") text = all(c, "t").map((t) => t.textContent).join("");
        else if (v) text = v.textContent;
        while (row.length < col) row.push("");
        row[col] = text;
      }
      const n = parseInt(r.getAttribute("r") || "", 10);
      while (n && rows.length < n - 1) rows.push([]);
      rows.push(row);
    }
    return rows;
  }

  // rejectedTable shows the rejected-rows file: the rows as they were, the
  // error ("erpipe error", the file's last column) beside each.
  function rejectedTable(j) {
    const box = el("div", {}, el("p", { class: "help" }, "Reading the rejected rows…"));
    (async () => {
      const resp = await api(j.rejected, { raw: true });
      const buf = await resp.arrayBuffer();
      const bytes = new Uint8Array(buf);
      let rows, sep = null;
      if (bytes[0] === 0x50 && bytes[1] === 0x4b) { // a workbook (PK: zip), as the input was
        rows = await readXLSX(bytes);
      } else {
        const text = new TextDecoder("utf-8").decode(bytes).replace(/^\uFEFF/, "");
        const first = text.split(/\r?\n/).find((l) => /erpipe error"?\s*$/.test(l)) || text.split(/\r?\n/)[0];
        sep = [",", ";", "\t", "|"].map((s) => [s, first.split(s).length]).sort((a, b) => b[1] - a[1])[0][0];
        rows = parseCSV(text, sep);
      }
      let h = rows.findIndex((r) => r.length && r[r.length - 1].trim() === "erpipe error");
      if (h < 0) h = 0;
      const header = rows[h] || [];
      const data = rows.slice(h + 1).filter((r) => r.some((c) => c !== ""));
      const cols = header.slice(0, -1);
      // The rows are corrected in the page (each cell a text field) and
      // sent back as a new file: a CSV's as a CSV file in its delimiter,
      // a workbook's to the API, which writes them as a workbook.
      const editable = data.length <= 500 && may("operate");
      const table = el("table", { class: "rejected" },
        el("caption", {}, plural(data.length, "rejected row", "rejected rows") + ", as they were in the input, with what to fix"),
        el("thead", {}, el("tr", {},
          el("th", { scope: "col" }, "What to fix"),
          cols.map((c) => el("th", { scope: "col" }, c)))),
        el("tbody", {}, data.map((r, k) => {
          const err = r[header.length - 1] || "";
          // The cell at fault: a column the error names in quotes, as
          // erpipe's errors do ("Fix: fill in \"Name\"").
          const fault = (c) => c !== "" && err.includes('"' + c + '"');
          return el("tr", {},
            el("td", { class: "err", id: "rej-err-" + k }, err),
            cols.map((c, i) => {
              const v = r[i] === undefined ? "" : r[i];
              const content = editable
                ? el("input", { type: "text", value: v, "data-row": k, "data-col": i, "aria-label": c + ", rejected row " + (k + 1),
                  "aria-invalid": fault(c) ? "true" : null, "aria-describedby": fault(c) ? "rej-err-" + k : null, spellcheck: "false" })
                : [v, fault(c) ? el("span", { class: "visually-hidden" }, " (the cell to fix)") : null];
              return el("td", fault(c) ? { class: "fault" } : {}, content);
            }));
        })));
      const parts = [el("div", { class: "scroll", role: "region", "aria-label": "Rejected rows", tabindex: editable ? null : "0" }, table)];
      if (editable) {
        const b = el("button", { type: "button", id: "resubmit" }, "Send the corrected rows");
        b.addEventListener("click", () => resubmit(j, rows.slice(0, h), cols, data, table, sep, b));
        parts.push(el("div", { class: "actions" }, b,
          el("p", { class: "help" }, "Correct the rows above, then send them to pipeline " + j.pipeline +
            " as a new file. They become a job of their own; this job stays as it was.")));
      }
      box.replaceChildren(...parts);
    })().catch((err) => {
      box.replaceChildren(el("p", { class: "problem" }, "The rejected rows could not be read: " + err.message));
    });
    return box;
  }

  // csvLine writes one CSV record with sep, quoting what needs it.
  function csvLine(cells, sep) {
    return cells.map((c) => /["\r\n]/.test(c) || c.includes(sep) ? '"' + c.replace(/"/g, '""') + '"' : c).join(sep);
  }

  // resubmit sends the corrected rows (the lines above the header as they
  // were, the header and the rows without erpipe's error column) to the
  // job's pipeline through the API's upload (a CSV file) or corrections
  // (a workbook's rows), then opens the new job.
  async function resubmit(j, above, cols, data, table, sep, button) {
    const edited = data.map((r, k) => cols.map((_, i) => {
      const input = table.querySelector('input[data-row="' + k + '"][data-col="' + i + '"]');
      return input ? input.value : (r[i] || "");
    }));
    let path, body, type;
    if (sep === null) { // a workbook: the API writes customers-corrected.xlsx
      path = "/api/v1/jobs/" + encodeURIComponent(j.id) + "/corrections";
      body = JSON.stringify({ rows: edited });
      type = "application/json";
    } else {
      const text = [...above.map((r) => csvLine(r, sep)), csvLine(cols, sep), ...edited.map((r) => csvLine(r, sep))].join("\r\n") + "\r\n";
      const dot = j.input.lastIndexOf(".");
      const name = dot > 0 ? j.input.slice(0, dot) + "-corrected" + j.input.slice(dot) : j.input + "-corrected";
      path = "/api/v1/pipelines/" + encodeURIComponent(j.pipeline) + "/jobs?name=" + encodeURIComponent(name);
      body = new Blob([text], { type: "text/csv" });
      type = "text/csv";
    }
    const key = uuid();
    button.disabled = true;
    try {
      for (let attempt = 1; ; attempt++) {
        try {
          const job = await api(path, { method: "POST", body: body, headers: { "Idempotency-Key": key, "Content-Type": type } });
          location.hash = jobHref(job.id);
          return;
        } catch (err) {
          const wait = parseInt((/try again in (\d+) s/.exec(err.message) || [])[1] || "0", 10);
          if (!(err instanceof APIError) || (err.status !== 429 && err.status !== 503) || attempt >= 5) throw err;
          showAlert(err.message + " — sending again in " + Math.max(wait, 1) + " s.", true);
          await new Promise((r) => setTimeout(r, Math.max(wait, 1) * 1000));
        }
      }
    } catch (err) {
      report(err);
    } finally {
      button.disabled = false;
    }
  }

  function reportText(j) {
    const pre = el("pre", { class: "report", tabindex: "0" }, "Reading the report…");
    api(j.report, { raw: true }).then((r) => r.text()).then((t) => { pre.textContent = t; })
      .catch((err) => { pre.textContent = "The report could not be read: " + err.message; });
    return el("details", { open: j.status === "Failed" }, el("summary", {}, "The full report"), pre);
  }

  function audit(j) {
    const items = [
      ["Job", el("code", {}, j.id)],
      ["Pipeline", j.pipeline],
      ["Input file", j.input + (j.input_size ? " (" + size(j.input_size) + ")" : "")],
      ["Input SHA-256", j.input_sha256 ? el("code", { class: "hash" }, j.input_sha256) : "not yet known"],
      ["Template", j.template ? j.template + (j.template_version ? ", version " + j.template_version : "") : "—"],
      ["Received", timeEl(j.created)],
      ["Started", timeEl(j.started)],
      ["Finished", timeEl(j.finished)],
    ];
    if (j.schedule) items.push(["Schedule", j.schedule + (j.period ? ", period " + j.period : "")]);
    if (j.retry_of) items.push(["Retries job", el("a", { href: jobHref(j.retry_of) }, j.retry_of)]);
    if (j.duplicate_of) items.push(["Same content as job", el("a", { href: jobHref(j.duplicate_of) }, j.duplicate_of)]);
    const dests = [...new Set(j.outputs.map((o) => o.destination))];
    if (dests.length) items.push(["Delivered to", el("ul", { class: "messages" }, dests.map((d) => el("li", {}, d)))]);
    const d365 = dests.filter((d) => /^d365 /.test(d));
    if (d365.length) {
      items.push(["Dynamics 365", j.delivery_problems && j.delivery_problems.length
        ? "refused part of the data: " + j.delivery_problems.join("; ")
        : (j.final && j.status !== "Failed" ? "took the data without a problem reported" : "not answered yet")]);
    }
    return el("dl", { class: "audit" }, items.map(([k, v]) => [el("dt", {}, k), el("dd", {}, v)]));
  }

  async function retry(j, button) {
    button.disabled = true;
    try {
      const body = await api("/api/v1/jobs/" + encodeURIComponent(j.id) + "/retry", { method: "POST" });
      showAlert(body.message || "The job was run again.", true);
      if (body.id) location.hash = jobHref(body.id); // a schedule's retry answers the new job
    } catch (err) {
      report(err);
    } finally {
      button.disabled = false;
    }
  }

  let shownJob = null; // the JSON of the job on the page, to redraw only on a change

  function jobPage(id, gen, first) {
    show("view-job");
    if (first) {
      shownJob = null;
      $("#job-title").textContent = "Job " + id;
      $("#job-body").replaceChildren(el("p", { class: "help" }, "Loading…"));
      document.title = "Job " + id + " · erpipe console";
    }
    api("/api/v1/jobs/" + encodeURIComponent(id)).then((j) => {
      if (gen !== generation) return;
      const json = JSON.stringify(j);
      if (json !== shownJob) { shownJob = json; renderJob(j); }
      if (!j.final) later(gen, () => jobPage(id, gen, false));
    }).catch((err) => {
      if (gen !== generation) return;
      if (err instanceof APIError && err.status === 404) {
        $("#job-body").replaceChildren(el("p", { class: "problem" }, err.message));
        return;
      }
      report(err);
      if (!(err instanceof APIError && err.status === 401)) later(gen, () => jobPage(id, gen, false));
    });
  }

  function renderJob(j) {
    $("#job-title").textContent = j.input + " — job " + j.id;
    document.title = j.input + " · erpipe console";
    const parts = [];
    parts.push(el("p", { class: "summary" }, badge(j.status), " ", summary(j)));
    if (j.final && may("operate")) {
      const b = el("button", { type: "button", id: "retry" }, "Retry");
      b.addEventListener("click", () => retry(j, b));
      parts.push(el("div", { class: "actions" }, b,
        el("p", { class: "help" }, "Retry runs the job's input again as a new job, with the pipeline's current template.")));
    }
    parts.push(messages(j.status === "Failed" ? "Why it failed" : "Errors", j.errors, "problem"));
    if (j.pending && j.pending.length) parts.push(messages("Waiting for", j.pending));
    parts.push(messages("What Dynamics 365 or another receiver refused", j.delivery_problems, "problem"));
    parts.push(messages("Warnings", j.warning_texts));
    parts.push(messages("Notes", j.notes));

    if (j.rejected) {
      const name = j.input + ".rejected" + (/\.xlsx$/i.test(j.input) ? ".xlsx" : ".csv");
      const b = el("button", { type: "button", id: "download-rejected" }, "Download the rejected rows");
      b.addEventListener("click", () => download(j.rejected, name, b));
      parts.push(el("section", { "aria-labelledby": "rej-title" },
        el("h2", { id: "rej-title" }, "Rejected rows"),
        el("p", {}, "Correct these rows in the table and send them, or download them, fix the file (its last column says what to fix; remove that column or leave it) and drop it into the pipeline again."),
        el("div", { class: "actions" }, b),
        rejectedTable(j)));
    }

    if (j.outputs.length) {
      parts.push(el("section", { "aria-labelledby": "out-title" },
        el("h2", { id: "out-title" }, "Outputs"),
        el("div", { class: "scroll", tabindex: "0", role: "region", "aria-labelledby": "out-title" }, el("table", {},
          el("thead", {}, el("tr", {}, ["File", "Size", "SHA-256", "Destination", ""].map((c) => el("th", { scope: "col" }, c)))),
          el("tbody", {}, j.outputs.map((o) => {
            let cell = el("span", { class: "help" }, "not kept on this machine");
            if (o.download) {
              const b = el("button", { type: "button", class: "download", "aria-label": "Download " + o.name }, "Download");
              b.addEventListener("click", () => download(o.download, o.name, b));
              cell = b;
            }
            return el("tr", {}, el("td", {}, o.name), el("td", { class: "num" }, size(o.size)),
              el("td", {}, el("code", { class: "hash" }, o.sha256)), el("td", {}, o.destination), el("td", {}, cell));
          }))))));
    } else if (j.final) {
      parts.push(el("p", {}, "This job made no output."));
    }

    if (j.report) parts.push(el("section", { "aria-label": "Report" }, el("h2", {}, "Report"), reportText(j)));
    parts.push(el("section", { "aria-labelledby": "audit-title" }, el("h2", { id: "audit-title" }, "Audit trail"), audit(j)));
    $("#job-body").replaceChildren(...parts.filter(Boolean));
  }

  // ---- dropping a file ----

  function uuid() {
    const b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 0x0f) | 0x40; b[8] = (b[8] & 0x3f) | 0x80;
    const h = [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
    return h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" + h.slice(16, 20) + "-" + h.slice(20);
  }

  function dropPage(gen) {
    show("view-drop");
    document.title = "Drop a file · erpipe console";
    $("#drop-form").hidden = !may("operate");
    $("#drop-refused").hidden = may("operate");
    if (!may("operate")) return;
    const sel = $("#d-pipeline");
    fillPipelines(sel).then(() => pipelineHelp()).catch(report);
  }

  function pipelineHelp() {
    const p = (pipelinesCache || []).find((x) => x.name === $("#d-pipeline").value);
    $("#d-pipeline-help").textContent = p
      ? (p.description ? p.description + " " : "") + "Takes " + ((p.file_patterns && p.file_patterns.length) ? p.file_patterns.join(", ") : "the files its template reads") +
        "; template " + p.template + " " + p.template_version + "; delivers to " + p.destinations.join(", ") + "."
      : "";
  }

  // upload sends the file as the body of the API's submit call (with an
  // Idempotency-Key, resent as it is when erpipe is busy), then opens the
  // job's page.
  function upload(file, key, attempt) {
    const pipeline = $("#d-pipeline").value;
    const status = $("#drop-status"), bar = $("#drop-progress");
    if (!pipeline) { status.textContent = "Choose a pipeline first."; return; }
    key = key || uuid();
    attempt = attempt || 1;
    clearAlert();
    status.textContent = "Sending " + file.name + " (" + size(file.size) + ") to " + pipeline + "…";
    bar.hidden = false; bar.value = 0;
    const xhr = new XMLHttpRequest();
    xhr.open("POST", "/api/v1/pipelines/" + encodeURIComponent(pipeline) + "/jobs?name=" + encodeURIComponent(file.name));
    for (const [k, v] of Object.entries(headers({}, "POST"))) xhr.setRequestHeader(k, v);
    xhr.setRequestHeader("Idempotency-Key", key);
    xhr.setRequestHeader("Content-Type", "application/octet-stream");
    xhr.upload.onprogress = (e) => { if (e.lengthComputable) { bar.value = Math.round(100 * e.loaded / e.total); bar.textContent = bar.value + "%"; } };
    xhr.onerror = () => {
      bar.hidden = true;
      status.textContent = "";
      showAlert("The file could not be sent: erpipe did not answer. Is erpipe run still running?");
    };
    xhr.onload = () => {
      bar.hidden = true;
      let body = null;
      try { body = JSON.parse(xhr.responseText); } catch (_) { /* not JSON */ }
      if (xhr.status === 202 || xhr.status === 200) {
        status.textContent = "erpipe took " + file.name + " as job " + body.id + ".";
        $("#d-file").value = "";
        location.hash = jobHref(body.id);
        return;
      }
      const msg = (body && body.error && body.error.message) || ("erpipe answered " + xhr.status);
      const wait = parseInt(xhr.getResponseHeader("Retry-After") || "", 10);
      if ((xhr.status === 429 || xhr.status === 503) && wait > 0 && attempt < 5) {
        status.textContent = msg + " — sending it again in " + wait + " s.";
        setTimeout(() => upload(file, key, attempt + 1), wait * 1000);
        return;
      }
      status.textContent = "";
      if (xhr.status === 401) { needToken(msg, /password/.test(xhr.getResponseHeader("X-Erpipe-Sign-In") || "")); return; }
      showAlert(file.name + " was not taken: " + msg);
    };
    xhr.send(file);
  }

  // What workbench.js (the template pages) uses of the console.
  window.erpipeConsole = { api, el, show, showAlert, report, current: (gen) => gen === generation };
  // ...and schedules.js (the schedules pages), with what the role may do.
  Object.assign(window.erpipeConsole, { may, later, badge, timeEl, jobHref, plural });

  // ---- signing in as a user ----

  // signIn sends the name and password to the API, which sets the
  // session's cookie; the password is not kept.
  async function signIn() {
    const name = $("#user-name").value.trim(), pw = $("#user-password").value;
    if (!name || !pw) return;
    const button = $("#signin-form button");
    button.disabled = true;
    try {
      const resp = await fetch("/api/v1/session", { method: "POST", headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ name: name, password: pw }), cache: "no-store", credentials: "same-origin" });
      if (!resp.ok) {
        const err = await problem(resp);
        $("#login-why").textContent = "erpipe did not sign you in: " + err.message;
        $("#user-password").value = "";
        $("#user-password").focus();
        return;
      }
      $("#user-password").value = "";
      sessionStorage.removeItem(TOKEN_KEY);
      pipelinesCache = null;
      me = null;
      route();
      $("#main").focus();
    } finally {
      button.disabled = false;
    }
  }

  // ---- start ----

  document.addEventListener("DOMContentLoaded", () => {
    $("#login-form").addEventListener("submit", (e) => {
      e.preventDefault();
      const t = $("#token").value.trim();
      if (!t) return;
      sessionStorage.setItem(TOKEN_KEY, t);
      $("#token").value = "";
      pipelinesCache = null;
      me = null;
      route();
      $("#main").focus();
    });
    $("#signin-form").addEventListener("submit", (e) => {
      e.preventDefault();
      signIn().catch(report);
    });
    $("#signout").addEventListener("click", () => {
      (token() ? Promise.resolve() : api("/api/v1/session", { method: "DELETE", raw: true })).catch(report).finally(() => {
        sessionStorage.removeItem(TOKEN_KEY);
        pipelinesCache = null;
        me = null;
        route();
      });
    });
    $("#job-filters").addEventListener("submit", (e) => e.preventDefault());
    for (const id of ["#f-status", "#f-pipeline"]) $(id).addEventListener("change", () => { restartPaging(); route(); });
    // The search is the API's: asked once typing pauses.
    let searchTimer = null;
    $("#f-search").addEventListener("input", () => {
      clearTimeout(searchTimer);
      searchTimer = setTimeout(() => { restartPaging(); route(); }, 300);
    });
    $("#jobs-older").addEventListener("click", () => { pageStack.push(pageCursor); pageCursor = nextCursor; route(); $("#jobs-title").focus(); });
    $("#jobs-newer").addEventListener("click", () => { pageCursor = pageStack.pop() || ""; route(); $("#jobs-title").focus(); });
    $("#d-pipeline").addEventListener("change", pipelineHelp);
    $("#d-file").addEventListener("change", (e) => { if (e.target.files[0]) upload(e.target.files[0]); });
    const zone = $("#dropzone");
    zone.addEventListener("dragover", (e) => { e.preventDefault(); zone.classList.add("over"); });
    zone.addEventListener("dragleave", () => zone.classList.remove("over"));
    zone.addEventListener("drop", (e) => {
      e.preventDefault();
      zone.classList.remove("over");
      const f = e.dataTransfer && e.dataTransfer.files[0];
      if (f) upload(f);
    });
    // A file dropped beside the zone is not opened by the browser.
    window.addEventListener("dragover", (e) => e.preventDefault());
    window.addEventListener("drop", (e) => e.preventDefault());
    window.addEventListener("hashchange", () => { route(); $("#main").focus(); });
    route();
  });
})();
