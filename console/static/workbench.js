// erpipe console: the template workbench (#/templates). Finance users
// look at a template with each key explained (from the JSON Schema of
// templates), derive a workspace template from a built-in, edit it with
// the same checks as `erpipe templates validate` as they type, run it on
// a sample with each value's lineage, run its test cases, compare it with
// its base, and save it with a version bump. Everything goes through the
// API (docs/api.md, "Template workbench"); console.js routes here.
"use strict";

(function () {
  const CHECK_MS = 400; // validation waits for this pause in typing
  const $ = (sel, root) => (root || document).querySelector(sel);
  const C = () => window.erpipeConsole;
  const el = (...a) => C().el(...a);
  const enc = encodeURIComponent;

  // ---- the pages' sections, added to <main> ----

  function sections() {
    const main = $("#main");
    if (!main || $("#view-templates")) return;
    main.append(
      el("section", { id: "view-templates", "aria-labelledby": "tpl-title", hidden: true },
        el("h1", { id: "tpl-title" }, "Templates"),
        el("p", {}, "The format configurations erpipe runs: built-in templates, which are part of erpipe, and the workspace's own. Open one to see it with each key explained; derive a workspace template from a built-in to change it."),
        el("p", { class: "help", id: "tpl-status", role: "status", "aria-live": "polite" }),
        el("div", { class: "scroll", tabindex: "0", role: "region", "aria-labelledby": "tpl-caption" },
          el("table", { id: "tpl-table" },
            el("caption", { id: "tpl-caption" }, "Built-in and workspace templates"),
            el("thead", {}, el("tr", {}, ["Template", "Version", "Status", "Source", "What it does"].map((c) => el("th", { scope: "col" }, c)))),
            el("tbody")))),
      el("section", { id: "view-template", "aria-labelledby": "wb-title", hidden: true },
        el("p", {}, el("a", { href: "#/templates" }, "← All templates")),
        el("h1", { id: "wb-title" }, "Template"),
        el("div", { id: "wb-body" })));
  }

  // ---- the JSON Schema's descriptions, by key path ----

  let schemaCache = null;
  function schema() {
    if (!schemaCache) schemaCache = C().api("/api/v1/template-schema").catch((e) => { schemaCache = null; throw e; });
    return schemaCache;
  }

  // variants are a schema node's alternatives (anyOf), itself included.
  function variants(node) { return node ? [node, ...(node.anyOf || [])] : []; }

  // describe walks the schema along path (keys, and "[]" for list items)
  // and returns the description of its end, or "".
  function describe(root, path) {
    const doc = (n) => { for (const v of variants(n)) if (v.description) return v.description; return ""; };
    let node = root, parent = "", named = false;
    for (const seg of path) {
      let next = null;
      named = false;
      for (const v of variants(node)) {
        if (seg === "[]") { if (v.items) { next = v.items; break; } continue; }
        if (v.properties && v.properties[seg]) { next = v.properties[seg]; break; }
        if (v.additionalProperties && typeof v.additionalProperties === "object" && !v.properties) { next = v.additionalProperties; named = true; break; }
      }
      if (!next) return "";
      parent = doc(node) || parent;
      node = next;
    }
    // A name the template chooses (a lookup table, a DMF column): what
    // the mapping it is in holds.
    return doc(node) || (named && parent ? "A name of your own in this part. " + parent : "");
  }

  // lineInfo reads one line of YAML: its key, the key's column, and the
  // column of the list dash before it (-1 when none).
  function lineInfo(line) {
    const m = /^(\s*)(-\s+)?((?:"[^"]*"|'[^']*'|[^\s#:'"][^:#]*?))\s*:(\s|$)/.exec(line);
    if (m) return { key: m[3].replace(/^["']|["']$/g, ""), col: m[1].length + (m[2] ? m[2].length : 0), dash: m[2] ? m[1].length : -1 };
    const d = /^(\s*)-(\s|$)/.exec(line);
    if (d) return { key: null, col: d[1].length + 2, dash: d[1].length };
    return null;
  }

  // keyPath is the path of the key on line i: ["input", "fields", "[]",
  // "column"], or null for a line without a key.
  function keyPath(lines, i) {
    const own = lineInfo(lines[i] || "");
    if (!own || !own.key) return null;
    const path = [own.key];
    let cur = own.col;
    if (own.dash >= 0) { path.unshift("[]"); cur = own.dash; }
    for (let j = i - 1; j >= 0 && cur > 0; j--) {
      const info = lineInfo(lines[j]);
      if (!info || /^\s*#/.test(lines[j])) continue;
      if (info.dash >= 0 && info.dash < cur && info.col >= cur) { path.unshift("[]"); cur = info.dash; continue; }
      if (info.key && info.col < cur) {
        path.unshift(info.key);
        cur = info.col;
        if (info.dash >= 0) { path.unshift("[]"); cur = info.dash; }
      }
    }
    return path;
  }

  function pathText(path) { return path.join(".").replace(/\.\[\]/g, "[]"); }

  // ---- the list ----

  async function listPage(gen) {
    C().show("view-templates");
    document.title = "Templates · erpipe console";
    $("#tpl-status").textContent = "Loading…";
    try {
      const body = await C().api("/api/v1/templates");
      if (!C().current(gen)) return;
      const list = body.templates || [];
      $("#tpl-table tbody").replaceChildren(...list.map((t) => el("tr", { "data-template": t.name },
        el("th", { scope: "row" }, el("a", { href: "#/templates/" + enc(t.name) }, t.name)),
        el("td", { "data-label": "Version" }, t.version || "—"),
        el("td", { "data-label": "Status" }, t.error ? "does not load" : (t.status || "")),
        el("td", { "data-label": "Source" }, t.source),
        el("td", { "data-label": "What it does" }, t.error || t.description || ""))));
      $("#tpl-status").textContent = list.length + " templates.";
    } catch (err) {
      $("#tpl-status").textContent = "";
      C().report(err);
    }
  }

  // ---- a template ----

  let state = null; // the template on the page

  async function templatePage(name, gen) {
    C().show("view-template");
    document.title = name + " · Templates · erpipe console";
    $("#wb-title").textContent = name;
    $("#wb-body").replaceChildren(el("p", { class: "help" }, "Loading…"));
    try {
      const [src, sch] = await Promise.all([C().api("/api/v1/templates/" + enc(name) + "/source"), schema()]);
      if (!C().current(gen)) return;
      render(src, sch);
    } catch (err) {
      if (!C().current(gen)) return;
      $("#wb-body").replaceChildren(el("p", { class: "problem" }, err.message));
      C().report(err);
    }
  }

  function meta(src) {
    return [src.source === "built-in" ? "Built-in template" : "Workspace template", src.version ? "version " + src.version : "",
      src.status || "", src.extends ? "derived from " + src.extends : "", src.file].filter(Boolean).join(" · ");
  }

  function render(src, sch) {
    state = { src, sch, seq: 0, timer: null, problems: [], saved: src.text };
    const ro = !src.may_save;
    const parts = [el("p", { id: "wb-meta", class: "help" }, meta(src))];
    if (src.source === "built-in") {
      parts.push(el("p", {}, "Built-in templates are part of erpipe and are not changed here. " +
        (src.may_derive ? "Derive a workspace template from it: it starts as this one, and you change what differs." : "An author may derive a workspace template from it.")));
      if (src.may_derive) {
        parts.push(el("form", { id: "wb-derive-form", class: "card wb-derive" },
          el("label", { for: "wb-derive-name" }, "Name of the new template"),
          el("input", { id: "wb-derive-name", type: "text", required: true, autocomplete: "off", spellcheck: "false",
            pattern: "[A-Za-z0-9][A-Za-z0-9_\\-]{0,63}", "aria-describedby": "wb-derive-help", value: src.name + "-custom" }),
          el("p", { id: "wb-derive-help", class: "help" }, "Letters, digits, - and _. It becomes templates/NAME/ in the workspace, with this template's samples as its test cases."),
          el("button", { type: "submit", id: "wb-derive" }, "Derive a workspace template")));
      }
    } else if (ro) {
      parts.push(el("p", {}, src.may_try ? "You may look at this template and try it; saving needs the author role."
        : "You may look at this template; trying it needs the operator role, saving it the author role."));
    }
    if (src.problems && src.problems.length) {
      parts.push(el("p", { class: "problem" }, "As saved, this template does not load: " + src.problems[0]));
    }
    parts.push(el("div", { class: "wb-grid" },
      el("div", { class: "wb-edit" },
        el("label", { for: "wb-text", class: "wb-label" }, ro ? "The template (read only)" : "The template (YAML); it is checked as you type"),
        el("div", { class: "wb-editor", id: "wb-editor" },
          el("pre", { class: "wb-gutter", id: "wb-gutter", "aria-hidden": "true" }),
          el("div", { class: "wb-marks", id: "wb-marks", "aria-hidden": "true" }),
          el("textarea", { id: "wb-text", wrap: "off", spellcheck: "false", autocapitalize: "off", autocomplete: "off",
            readonly: ro, "aria-describedby": "wb-check wb-help-text" })),
        el("p", { id: "wb-check", class: "wb-check", role: "status", "aria-live": "polite" }),
        el("ul", { id: "wb-problems", class: "wb-problems" })),
      el("aside", { class: "wb-help card", "aria-labelledby": "wb-help-title" },
        el("h2", { id: "wb-help-title" }, "About this key"),
        el("p", {}, el("code", { id: "wb-help-key" }, "—")),
        el("p", { id: "wb-help-text" }, "Put the cursor on a key, or point at it, to read what it means."),
        el("p", { class: "help" }, "From the template schema; docs/templates.md has the full reference."))));
    const actions = !src.may_try ? el("p", { class: "help" }, "Running, testing and comparing a template needs the operator role.") : el("div", { class: "actions wb-actions" },
      el("label", { for: "wb-sample", class: "button" }, "Run on a sample…"),
      el("input", { id: "wb-sample", type: "file", class: "visually-hidden" }),
      src.samples && src.samples.length ? el("span", { class: "wb-own" },
        el("label", { for: "wb-own" }, "or its own"),
        el("select", { id: "wb-own" }, src.samples.map((n) => el("option", { value: n }, n))),
        el("button", { type: "button", id: "wb-run-own", class: "quiet" }, "Run")) : null,
      el("button", { type: "button", id: "wb-test" }, "Run the test cases"),
      el("button", { type: "button", id: "wb-diff" }, src.extends ? "Compare with " + src.extends : "Compare with the saved version"));
    if (src.may_save && src.may_try) {
      actions.append(
        el("span", { class: "wb-bump" },
          el("label", { for: "wb-bump" }, "Version bump"),
          el("select", { id: "wb-bump" }, ["patch", "minor", "major"].map((b) => el("option", { value: b }, b)))),
        el("button", { type: "button", id: "wb-save" }, "Save"));
    }
    parts.push(actions);
    parts.push(el("p", { id: "wb-action-status", role: "status", "aria-live": "polite", class: "help" }));
    parts.push(el("section", { id: "wb-run", "aria-labelledby": "wb-run-title", hidden: true },
      el("h2", { id: "wb-run-title" }, "Sample run"), el("div", { id: "wb-run-body" })));
    parts.push(el("section", { id: "wb-tests", "aria-labelledby": "wb-tests-title", hidden: true },
      el("h2", { id: "wb-tests-title" }, "Test cases"), el("div", { id: "wb-tests-body" })));
    parts.push(el("section", { id: "wb-diffs", "aria-labelledby": "wb-diffs-title", hidden: true },
      el("h2", { id: "wb-diffs-title" }, "Differences"), el("div", { id: "wb-diffs-body" })));
    $("#wb-body").replaceChildren(...parts);

    const ta = $("#wb-text");
    ta.value = src.text;
    layout();
    ta.addEventListener("input", () => { layout(); schedule(); });
    for (const ev of ["click", "keyup", "focus"]) ta.addEventListener(ev, () => explainAt(cursorLine()));
    ta.addEventListener("mousemove", (e) => explainAt(lineAtY(e)));
    if (src.may_try) {
      $("#wb-sample").addEventListener("change", (e) => { if (e.target.files[0]) runSample(e.target.files[0]); e.target.value = ""; });
      if ($("#wb-run-own")) $("#wb-run-own").addEventListener("click", () => runSample(null, $("#wb-own").value));
      $("#wb-test").addEventListener("click", () => runTests(false));
      $("#wb-diff").addEventListener("click", showDiff);
    }
    if ($("#wb-save")) $("#wb-save").addEventListener("click", save);
    if ($("#wb-derive-form")) $("#wb-derive-form").addEventListener("submit", (e) => { e.preventDefault(); derive(); });
    if (src.may_try) validate();
    else showProblems((src.problems || []).map((t) => ({ message: t, text: t })));
  }

  // ---- the editor ----

  function lines() { return $("#wb-text").value.split("\n"); }
  function cursorLine() {
    const ta = $("#wb-text");
    return ta.value.slice(0, ta.selectionStart).split("\n").length - 1;
  }
  function lineHeight() { return parseFloat(getComputedStyle($("#wb-text")).lineHeight) || 21; }
  function lineAtY(e) {
    const ta = $("#wb-text");
    const pad = parseFloat(getComputedStyle(ta).paddingTop) || 0;
    return Math.floor((e.offsetY - pad + ta.scrollTop) / lineHeight());
  }

  // layout sizes the text area to its text (the editor scrolls, not the
  // text area, so that the line numbers and marks stay beside their
  // lines) and redraws the line numbers and marks.
  function layout() {
    const ta = $("#wb-text"), ed = $("#wb-editor");
    const n = lines().length;
    // Shrunk for a moment to measure, the text area would pull the
    // editor's scroll position up: it is put back.
    const top = ed.scrollTop, left = ta.scrollLeft;
    ta.style.height = "auto";
    ta.style.height = Math.max(ta.scrollHeight, 0) + "px";
    ed.scrollTop = top;
    ta.scrollLeft = left;
    const bad = new Map();
    for (const p of state.problems) if (p.line) bad.set(p.line, (bad.get(p.line) ? bad.get(p.line) + "; " : "") + p.message);
    const gutter = [];
    for (let i = 1; i <= n; i++) {
      gutter.push(bad.has(i) ? el("span", { class: "bad", title: bad.get(i), "data-line": i }, "⚠" + i) : el("span", {}, String(i)), "\n");
    }
    $("#wb-gutter").replaceChildren(...gutter);
    const pad = parseFloat(getComputedStyle(ta).paddingTop) || 0, lh = lineHeight();
    $("#wb-marks").replaceChildren(...[...bad.keys()].filter((l) => l <= n).map((l) =>
      el("div", { class: "wb-mark", "data-line": l, style: null }, "")));
    for (const m of document.querySelectorAll("#wb-marks .wb-mark")) {
      m.style.top = (pad + (Number(m.dataset.line) - 1) * lh) + "px";
      m.style.height = lh + "px";
    }
  }

  function explainAt(i) {
    if (!state || i < 0) return;
    const path = keyPath(lines(), i);
    if (!path) return;
    const text = describe(state.sch, path);
    $("#wb-help-key").textContent = pathText(path);
    $("#wb-help-text").textContent = text || "erpipe does not know this key: see the problems below the editor.";
  }

  // ---- validation as you type ----

  function schedule() {
    clearTimeout(state.timer);
    $("#wb-check").textContent = "Checking…";
    state.timer = setTimeout(validate, CHECK_MS);
  }

  async function validate() {
    const st = state, seq = ++st.seq;
    const text = $("#wb-text").value;
    if (!text.trim()) {
      showProblems([{ line: 1, col: 1, message: "the template is empty", text: "the template is empty" }]);
      return;
    }
    try {
      const v = await C().api("/api/v1/templates/" + enc(st.src.name) + "/validate",
        { method: "POST", body: text, headers: { "Content-Type": "application/yaml" } });
      if (st !== state || seq !== st.seq) return; // a newer check is on its way
      showProblems(v.problems || [], v);
    } catch (err) {
      if (st !== state || seq !== st.seq) return;
      $("#wb-check").textContent = "The template could not be checked: " + err.message;
    }
  }

  function showProblems(problems, v) {
    state.problems = problems;
    state.valid = problems.length === 0;
    $("#wb-check").textContent = problems.length
      ? (problems.length === 1 ? "1 problem" : problems.length + " problems") + ": " + problems[0].text
      : "No problems" + (v ? ": " + v.name + " " + (v.version || "") + ", " + (v.status || "draft") : "") + ".";
    $("#wb-check").classList.toggle("bad", problems.length > 0);
    $("#wb-problems").replaceChildren(...problems.map((p) => {
      const b = el("button", { type: "button", class: "link" }, p.line ? "Line " + p.line + (p.col ? ", column " + p.col : "") : "The file");
      b.addEventListener("click", () => goTo(p.line, p.col));
      return el("li", { "data-line": p.line || "" }, b, ": ", p.message,
        p.hint ? el("span", { class: "wb-hint" }, " Did you mean ", el("code", {}, p.hint), "?") : null);
    }));
    $("#wb-text").setAttribute("aria-invalid", problems.length ? "true" : "false");
    layout();
  }

  function goTo(line, col) {
    const ta = $("#wb-text");
    const ls = lines();
    let pos = 0;
    for (let i = 0; i < (line || 1) - 1 && i < ls.length; i++) pos += ls[i].length + 1;
    pos += Math.max((col || 1) - 1, 0);
    ta.focus();
    ta.setSelectionRange(pos, pos);
    const top = ((line || 1) - 1) * lineHeight();
    const ed = $("#wb-editor");
    if (top < ed.scrollTop || top > ed.scrollTop + ed.clientHeight - 40) ed.scrollTop = Math.max(top - 60, 0);
    explainAt(line - 1);
  }

  function status(msg) { $("#wb-action-status").textContent = msg; }

  // ---- run on a sample ----

  function lineageText(l, value) {
    if (!l) return "";
    const parts = [l.column + " = \"" + value + "\"", "from " + l.expr];
    if (l.via && l.via.length) parts.push("via model fields " + l.via.join(", "));
    for (const i of l.inputs || []) {
      parts.push("input " + i.field + " = \"" + i.text + "\" at row " + i.row + (i.col ? ", column " + i.col : " (column missing)") + " (\"" + i.column + "\")");
    }
    for (const k of l.lookups || []) parts.push("lookup " + k.table + "[\"" + k.key + "\"] " + (k.found ? "gives \"" + k.value + "\"" : "is not in the table"));
    return parts.join("; ");
  }

  // runSample runs the text on a file chosen, or on the template's own
  // sample named own.
  async function runSample(file, own) {
    const st = state;
    status("Running " + st.src.name + " on " + (file ? file.name : own) + "…");
    const form = new FormData();
    form.append("template", new Blob([$("#wb-text").value], { type: "application/yaml" }), "template.yaml");
    if (file) form.append("sample", file, file.name);
    try {
      const out = await C().api("/api/v1/templates/" + enc(st.src.name) + "/run?rows=50" + (file ? "" : "&sample=" + enc(own)), { method: "POST", body: form });
      if (st !== state) return;
      status("Ran on " + out.sample + ": " + out.read + " rows read, " + out.written + " would be written, " + out.rejected + " left out (nothing was written).");
      renderRun(out);
    } catch (err) {
      if (st !== state) return;
      status("");
      if (err.problems) showProblems(err.problems);
      C().report(err);
    }
  }

  function renderRun(out) {
    const body = [];
    body.push(el("p", { class: "help" }, "Point at a value, or move to it with Tab, to see which input cells and expressions made it."));
    out.columns.forEach((cols, ti) => {
      const rows = out.rows.filter((r) => r.values || ti === 0);
      const title = out.tables.length > 1 ? out.tables[ti] : "Output rows";
      body.push(el("div", { class: "scroll", role: "region", "aria-label": title },
        el("table", { class: "wb-rows", "data-table": ti },
          el("caption", {}, title + " from " + out.sample),
          el("thead", {}, el("tr", {}, el("th", { scope: "col" }, "Row"), cols.map((c) => el("th", { scope: "col" }, c)))),
          el("tbody", {}, rows.map((r) => r.values
            ? el("tr", { "data-row": r.row }, el("th", { scope: "row" }, r.row),
              r.values[ti].map((v, ci) => {
                const lin = r.lineage && r.lineage[ti] && r.lineage[ti][ci];
                const text = lineageText(lin && lin.expr ? lin : null, v);
                return el("td", { tabindex: "0", title: text || null, "data-lineage": text || null }, v);
              }))
            : el("tr", { "data-row": r.row, class: "left-out" }, el("th", { scope: "row" }, r.row),
              el("td", { colspan: String(cols.length) }, "Left out: " + (r.errors || []).join("; "))))))));
    });
    body.push(el("div", { id: "wb-lineage", class: "card wb-lineage", role: "status", "aria-live": "polite" }, "No value chosen."));
    if (out.warnings && out.warnings.length) body.push(el("ul", { class: "messages" }, out.warnings.map((w) => el("li", {}, "Warning: " + w))));
    $("#wb-run-body").replaceChildren(...body);
    for (const td of document.querySelectorAll("#wb-run-body td[data-lineage]")) {
      const showIt = () => { $("#wb-lineage").textContent = td.dataset.lineage; };
      td.addEventListener("mouseenter", showIt);
      td.addEventListener("focus", showIt);
    }
    $("#wb-run").hidden = false;
  }

  // ---- test cases ----

  async function runTests(update) {
    const st = state;
    update = update === true;
    status((update ? "Accepting the results of " : "Running the test cases of ") + st.src.name + "…");
    try {
      const out = await C().api("/api/v1/templates/" + enc(st.src.name) + "/test" + (update ? "?update=true" : ""),
        { method: "POST", body: update ? st.saved : $("#wb-text").value, headers: { "Content-Type": "application/yaml" } });
      if (st !== state) return;
      const updated = out.cases.filter((c) => c.updated).length;
      status(out.passed + " passed, " + out.failed + " failed." + (updated ? " The expected results of " + updated + " were rewritten." : ""));
      const body = [];
      if (out.note) body.push(el("p", { class: "help" }, out.note));
      if (out.failed && st.src.may_save) {
        const saved = $("#wb-text").value === st.saved;
        const b = el("button", { type: "button", id: "wb-accept", disabled: !saved, "aria-describedby": "wb-accept-help" }, "Accept these results as expected");
        b.addEventListener("click", () => runTests(true));
        body.push(el("div", { class: "actions" }, b, el("p", { id: "wb-accept-help", class: "help" }, saved
          ? "If the differences are what you meant, the failing cases' expected results become what the template makes now."
          : "Save the template first: expected results are taken from the saved template.")));
      }
      body.push(el("ul", { class: "wb-cases" }, out.cases.map((c) => el("li", { "data-case": c.name, class: c.pass ? "pass" : "fail" },
        el("span", { class: "badge " + (c.pass ? "s-Processed" : "s-Failed") }, c.pass ? "Pass" : "Fail"), " ", c.name,
        el("span", { class: "help" }, " (input " + c.input + ")"),
        c.diff ? el("pre", { class: "report", tabindex: "0" }, c.diff) : null))));
      $("#wb-tests-body").replaceChildren(...body);
      $("#wb-tests").hidden = false;
    } catch (err) {
      if (st !== state) return;
      status("");
      if (err.problems) showProblems(err.problems);
      C().report(err);
    }
  }

  // ---- the diff against the base ----

  async function showDiff() {
    const st = state;
    try {
      const out = await C().api("/api/v1/templates/" + enc(st.src.name) + "/diff",
        { method: "POST", body: $("#wb-text").value, headers: { "Content-Type": "application/yaml" } });
      if (st !== state) return;
      const n = out.changes.length;
      status("");
      $("#wb-diffs-body").replaceChildren(
        el("p", {}, "Compared with " + out.against + ": " + (n === 0 ? "no changes." : n === 1 ? "1 change." : n + " changes.")),
        el("ul", { class: "wb-changes" }, out.changes.map((c) => el("li", { class: "c-" + c.kind },
          c.kind === "added" ? ["+ ", el("code", {}, c.path), ": ", c.new, " (line " + c.new_line + ")"]
            : c.kind === "removed" ? ["− ", el("code", {}, c.path), ": ", c.old, " (removed)"]
              : ["~ ", el("code", {}, c.path), ": ", c.old, " → ", c.new, c.new_line ? " (line " + c.new_line + ")" : ""]))));
      $("#wb-diffs").hidden = false;
    } catch (err) {
      if (st !== state) return;
      if (err.problems) showProblems(err.problems);
      C().report(err);
    }
  }

  // ---- derive and save ----

  async function derive() {
    const name = $("#wb-derive-name").value.trim();
    $("#wb-derive").disabled = true;
    status("Deriving " + name + " from " + state.src.name + "…");
    try {
      const out = await C().api("/api/v1/templates/" + enc(state.src.name) + "/derive",
        { method: "POST", body: JSON.stringify({ name }), headers: { "Content-Type": "application/json" } });
      C().showAlert("Derived " + out.name + " from " + state.src.name + ": templates/" + out.name + "/ in the workspace, a draft at version " + out.version + ".", true);
      location.hash = "#/templates/" + enc(out.name);
    } catch (err) {
      status("");
      C().report(err);
    } finally {
      if ($("#wb-derive")) $("#wb-derive").disabled = false;
    }
  }

  async function save() {
    const st = state, b = $("#wb-save");
    b.disabled = true;
    status("Saving…");
    try {
      const out = await C().api("/api/v1/templates/" + enc(st.src.name) + "?bump=" + enc($("#wb-bump").value),
        { method: "PUT", body: $("#wb-text").value, headers: { "Content-Type": "application/yaml", "If-Match": '"' + st.src.sha256 + '"' } });
      if (st !== state) return;
      st.src.sha256 = out.sha256;
      st.saved = out.text;
      st.src.version = out.version;
      st.src.status = out.status;
      $("#wb-text").value = out.text;
      $("#wb-meta").textContent = meta(st.src);
      layout();
      const uses = out.pipelines && out.pipelines.length ? " Pipeline " + out.pipelines.join(", ") + " runs it from now on."
        : out.status !== "completed" ? " It is a draft: no pipeline runs it until its status is completed." : "";
      status("Saved " + out.name + " version " + out.version + " (was " + out.previous_version + ")." + uses +
        (out.reload_error ? " The daemon did not take the workspace's configuration: " + out.reload_error : ""));
      validate();
    } catch (err) {
      if (st !== state) return;
      status("Not saved.");
      if (err.problems) showProblems(err.problems);
      C().report(err);
    } finally {
      b.disabled = false;
    }
  }

  // ---- routing (console.js calls route for #/templates...) ----

  function route(parts, gen) {
    sections();
    state = null;
    if (parts[0]) return templatePage(parts[0], gen);
    return listPage(gen);
  }

  // Leaving with an edit that is not saved asks first.
  window.addEventListener("beforeunload", (e) => {
    if (state && $("#wb-text") && state.src.may_save && $("#wb-text").value !== state.saved) e.preventDefault();
  });

  window.erpipeWorkbench = { route, keyPath, describe };
  sections();
})();
