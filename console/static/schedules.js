// erpipe console: the schedules pages (#/schedules). Each schedule with
// what its periods came to (produced, failed, due, running), a schedule's
// periods with every version and its receipt, running a period now, and
// a correction of a produced period with its reason (the --force path of
// erpipe schedule run). Everything goes through the API (docs/api.md,
// "Schedules"); console.js routes here and says what the role may do.
"use strict";

(function () {
  const $ = (sel, root) => (root || document).querySelector(sel);
  const C = () => window.erpipeConsole;
  const el = (...a) => C().el(...a);
  const enc = encodeURIComponent;

  function sections() {
    if ($("#view-schedules")) return;
    $("#main").append(
      el("section", { id: "view-schedules", "aria-labelledby": "sch-title", hidden: true },
        el("h1", { id: "sch-title" }, "Schedules"),
        el("p", {}, "Reports erpipe makes on a timetable, one file a reporting period, each period once. Open a schedule to see its periods, their receipts, to run a period now or to send a correction."),
        el("div", { id: "sch-list" })),
      el("section", { id: "view-schedule", "aria-labelledby": "sc-title", hidden: true },
        el("p", {}, el("a", { href: "#/schedules" }, "← All schedules")),
        el("h1", { id: "sc-title", tabindex: "-1" }, "Schedule"),
        el("div", { id: "sc-body" })));
  }

  const runWords = { Produced: "Produced", Failed: "Failed", Due: "Due", Running: "Running" };
  // The job statuses' colours stand for the periods' too.
  const runClass = { Produced: "Processed", Failed: "Failed", Due: "Enqueued", Running: "Processing" };
  function runBadge(status) { return el("span", { class: "badge s-" + (runClass[status] || status) }, runWords[status] || status); }

  function counts(s) {
    const c = s.counts || {};
    return ["Produced", "Failed", "Due", "Running"].filter((k) => c[k]).map((k) => c[k] + " " + k.toLowerCase()).join(", ") || "no period yet";
  }

  function listPage(gen) {
    C().show("view-schedules");
    document.title = "Schedules · erpipe console";
    C().api("/api/v1/schedules").then((body) => {
      if (!C().current(gen)) return;
      const list = body.schedules || [];
      if (!list.length) {
        $("#sch-list").replaceChildren(el("p", {}, "This erpipe has no schedules (schedules: in erpipe.yaml)."));
        return;
      }
      $("#sch-list").replaceChildren(el("div", { class: "scroll", tabindex: "0", role: "region", "aria-labelledby": "sch-caption" },
        el("table", { id: "sch-table" },
          el("caption", { id: "sch-caption" }, "The schedules, with their periods by status"),
          el("thead", {}, el("tr", {}, ["Schedule", "Template", "Periods", "Last run", "Next run"].map((c) => el("th", { scope: "col" }, c)))),
          el("tbody", {}, list.map((s) => el("tr", { "data-schedule": s.name },
            el("td", {}, el("a", { href: "#/schedules/" + enc(s.name) }, s.name)),
            el("td", {}, s.template + (s.template_version ? " " + s.template_version : "")),
            el("td", {}, counts(s)),
            el("td", {}, s.last ? [runBadge(s.last.status), " ", s.last.period, s.last.version > 1 ? " (version " + s.last.version + ")" : ""] : "never"),
            el("td", {}, C().timeEl(s.next_run), " (period " + s.next_period + ")"))))))); 
      C().later(gen, () => listPage(gen));
    }).catch((err) => { if (C().current(gen)) C().report(err); });
  }

  // ---- one schedule ----

  let shown = ""; // the JSON shown, to redraw only on a change

  function schedulePage(name, gen, first) {
    C().show("view-schedule");
    if (first) {
      shown = "";
      $("#sc-title").textContent = "Schedule " + name;
      document.title = name + " · erpipe console";
      $("#sc-body").replaceChildren(el("p", { class: "help" }, "Loading…"));
    }
    C().api("/api/v1/schedules/" + enc(name)).then((body) => {
      if (!C().current(gen)) return;
      const json = JSON.stringify(body);
      if (json !== shown) { shown = json; render(body, gen); }
      C().later(gen, () => schedulePage(name, gen, false));
    }).catch((err) => {
      if (!C().current(gen)) return;
      if (err.status === 404) { $("#sc-body").replaceChildren(el("p", { class: "problem" }, err.message)); return; }
      C().report(err);
    });
  }

  function render(body, gen) {
    const s = body.schedule, periods = body.periods || [];
    const parts = [el("p", { class: "summary" }, "Template " + s.template + (s.template_version ? " " + s.template_version : "") +
      ", at “" + s.cron + "” (" + s.location + "), one file a period (" + s.period_rule + "). Periods: " + counts(s) +
      ". Next run: ", C().timeEl(s.next_run), ", for period " + s.next_period + ".")];
    if (C().may("operate")) parts.push(runForm(s, gen));
    parts.push(el("h2", { id: "per-title" }, "Periods"));
    if (!periods.length) parts.push(el("p", {}, "No period has been produced or planned yet."));
    else parts.push(el("div", { class: "scroll", tabindex: "0", role: "region", "aria-labelledby": "per-title" },
      el("table", { id: "periods-table", class: "periods" },
        el("thead", {}, el("tr", {}, ["Period", "Status", "Version", "Job", "When", "What happened", ""].map((c) => el("th", { scope: "col" }, c)))),
        el("tbody", {}, periods.map((p) => periodRows(s, p, gen))))));
    parts.push(el("div", { id: "receipt-box" }));
    $("#sc-body").replaceChildren(...parts);
  }

  function periodRows(s, p, gen) {
    const rows = [];
    const earlier = (p.versions || []).slice(0, -1).reverse();
    const what = (r) => r.status === "Failed" ? (r.error || "") + (r.next_attempt ? " Tried again " + new Date(r.next_attempt).toLocaleString() + "." : "")
      : r.status === "Due" ? "Due since " + new Date(r.due || r.updated).toLocaleString()
        : r.correction_of ? "A correction of job " + r.correction_of : "";
    const actions = (r, latest) => {
      const out = [];
      if (r.receipt) {
        const b = el("button", { type: "button", class: "quiet receipt", "aria-label": "Receipt of " + r.period + " version " + r.version }, "Receipt");
        b.addEventListener("click", () => showReceipt(r, b));
        out.push(b);
      }
      if (latest && C().may("operate")) {
        if (r.status === "Produced") {
          const b = el("button", { type: "button", class: "quiet correct", "data-period": r.period, "aria-label": "Correct " + r.period }, "Correct…");
          b.addEventListener("click", () => correctionForm(s, r, gen));
          out.push(b);
        } else if (r.status === "Failed" || r.status === "Due") {
          const b = el("button", { type: "button", class: "run-period", "data-period": r.period, "aria-label": "Run " + r.period + " now" }, "Run now");
          b.addEventListener("click", () => run(s, r.period, false, "", b, gen));
          out.push(b);
        }
      }
      return out;
    };
    const row = (r, latest) => el("tr", { "data-period": r.period, "data-version": String(r.version), "data-status": r.status, class: latest ? "" : "earlier" },
      el("th", { scope: "row" }, latest ? r.period : el("span", { class: "visually-hidden" }, r.period)),
      el("td", {}, runBadge(r.status)),
      el("td", { class: "num" }, r.version),
      el("td", {}, r.job ? el("a", { href: C().jobHref(r.job) }, r.job) : "—"),
      el("td", {}, C().timeEl(r.updated)),
      el("td", { class: "why" }, what(r)),
      el("td", {}, actions(r, latest)));
    rows.push(row(p, true));
    for (const r of earlier) rows.push(row(r, false));
    return rows;
  }

  async function showReceipt(r, button) {
    button.disabled = true;
    try {
      const text = await (await C().api(r.receipt, { raw: true })).text();
      let pretty = text;
      try { pretty = JSON.stringify(JSON.parse(text), null, 2); } catch (_) { /* as it is */ }
      $("#receipt-box").replaceChildren(el("h2", { id: "receipt-title", tabindex: "-1" }, "Receipt of " + r.period + ", version " + r.version),
        el("pre", { class: "report receipt-text", tabindex: "0", "aria-labelledby": "receipt-title" }, pretty));
      $("#receipt-title").focus();
    } catch (err) {
      C().report(err);
    } finally {
      button.disabled = false;
    }
  }

  // runForm runs a period now: the current one, or one named.
  function runForm(s, gen) {
    const form = el("form", { id: "run-form", class: "card" },
      el("h2", { id: "run-title" }, "Run a period now"),
      el("label", { for: "run-period" }, "Period"),
      el("input", { id: "run-period", type: "text", value: s.current_period, spellcheck: "false", "aria-describedby": "run-help" }),
      el("p", { id: "run-help", class: "help" }, "A period as the schedule names them (such as " + s.current_period + "). A period already produced is refused: send a correction instead."),
      el("button", { type: "submit", id: "run-now" }, "Run now"));
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      run(s, $("#run-period").value.trim(), false, "", $("#run-now"), gen);
    });
    return form;
  }

  // correctionForm asks for the reason of a correction of period r.
  function correctionForm(s, r, gen) {
    const form = el("form", { id: "correct-form", class: "card" },
      el("h2", { id: "correct-title", tabindex: "-1" }, "Correct " + r.period),
      el("p", {}, "A correction produces period " + r.period + " again as version " + (r.version + 1) + " and sends it; version " + r.version + " (job " + r.job + ") is kept as the prior version. Say why: the reason is kept in the new job's audit trail and receipt."),
      el("label", { for: "correct-reason" }, "Reason"),
      el("textarea", { id: "correct-reason", rows: "3", required: true, maxlength: "1000" }),
      el("div", { class: "actions" },
        el("button", { type: "submit", id: "correct-send" }, "Send the correction"),
        el("button", { type: "button", class: "quiet", id: "correct-cancel" }, "Cancel")));
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      const reason = $("#correct-reason").value.trim();
      if (!reason) { $("#correct-reason").focus(); return; }
      run(s, r.period, true, reason, $("#correct-send"), gen);
    });
    $("#receipt-box").replaceChildren(form);
    $("#correct-cancel").addEventListener("click", () => $("#receipt-box").replaceChildren());
    $("#correct-title").focus();
  }

  async function run(s, period, force, reason, button, gen) {
    if (!period) return;
    button.disabled = true;
    const q = new URLSearchParams({ period: period });
    if (force) { q.set("force", "true"); q.set("reason", reason); }
    C().showAlert("Producing " + s.name + " " + period + "…", true);
    try {
      const job = await C().api(s.run + "?" + q, { method: "POST" });
      C().showAlert(s.name + " " + period + (force ? " was corrected" : " was run") + ": job " + job.id + " is " + job.status +
        (job.errors && job.errors.length ? " — " + job.errors[0] : "") + ".", job.status !== "Failed");
      shown = "";
      schedulePage(s.name, gen, false);
    } catch (err) {
      C().report(err);
    } finally {
      button.disabled = false;
    }
  }

  window.erpipeSchedules = {
    route(parts, gen) {
      sections();
      if (parts[0]) return schedulePage(parts[0], gen, true);
      return listPage(gen);
    },
  };
})();
