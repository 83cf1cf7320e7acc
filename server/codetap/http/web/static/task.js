// Task page: the journal from GET /v1/tasks/{id}/events (live until the task settles),
// controls, the team tree (live from GET /v1/events), replay (diff at step N), the change,
// the report, and the plots: the task's tokens and cost, and cost per role over time, with
// the per-role table of GET /v1/tasks/{id}/usage.
"use strict";
(() => {
  const {el, api, renderDiff} = window.codetap;
  const article = document.getElementById("task");
  const id = article.dataset.id;
  const base = "/v1/tasks/" + id;
  const timeline = document.getElementById("timeline");
  const slider = document.getElementById("replay-step");
  const status = document.getElementById("op-status");
  const usage = {ts: [], tokens: [], cost: []};
  const roles = {names: [], ts: [], totals: {}, rows: []};  // cumulative cost per role
  const stepWho = new Map();  // step -> "role · model" of its model turn
  let last = 0, pending = null, source = null, tokens = 0, cost = 0, who = "";
  // Time spent handling journal events, read by bench/web_panel.py.
  const perf = window.codetap.perf = {events: 0, ms: 0, frames: 0, frameMs: 0};

  const json = (v) => JSON.stringify(v, null, 1);
  const clip = (s, n) => (s.length > n ? s.slice(0, n) + " ..." : s);

  function entry(e) {
    const d = e.data || {};
    let title = e.kind, body = "";
    switch (e.kind) {
      case "state": title = `state: ${d.from} \u2192 ${d.to}`; break;
      case "model_turn": {
        const m = d.message || {};
        title = "model turn";
        body = (m.content || "") + (m.tool_calls || []).map((c) => `\n\u2192 ${c.name}`).join("");
        break;
      }
      case "tool_intent": title = `tool call: ${d.name}`; body = json(d.arguments); break;
      case "tool_result":
        title = `result: ${d.name}${d.is_error ? " (error)" : ""}`; body = clip(d.output || "", 2000);
        break;
      case "approval": title = `approval: ${d.answer}`; body = d.command || ""; break;
      case "user": title = "user"; body = clip(d.content || "", 2000); break;
      case "system_prompt": title = "system prompt"; body = clip(d.content || "", 300); break;
      case "handoff":
        title = `hand-off: ${d.from_role} \u2192 ${d.to_role}`;
        body = clip((d.data || {}).summary || "", 2000);
        break;
      case "plan_approval":
        title = `approval of the ${d.role}'s hand-off: ${d.approved ? "approved" : "rejected"}`;
        body = d.answer || "";
        break;
      case "push":
        title = `push of ${d.branch}: ${d.ok ? "done" : d.rejected ? "rejected" : "failed"}`;
        body = d.ok ? `${d.remote} ${d.commit || ""}` : d.reason || "";
        break;
      case "pull_request":
        title = `pull request: ${d.ok ? "opened" : "not opened"}`; body = d.url || d.reason || "";
        break;
      case "waiting_budget":
        title = `waiting for the budget (${d.window})`;
        body = d.reason ||
          `$${Number(d.spent_usd).toFixed(4)} of $${Number(d.limit_usd).toFixed(4)}`;
        break;
      case "fanout": {
        const kids = d.children || [];
        title = `fan-out: ${kids.length} sub-task${kids.length === 1 ? "" : "s"}`;
        body = kids.map((c) => `#${c.task_id} ${(c.intent || "").split("\n")[0]}`).join("\n");
        break;
      }
      case "merge":
        title = `merge of sub-task #${d.task_id}: ${d.skipped ? "skipped" :
          d.conflict ? "conflict resolved" : "clean"}`;
        body = d.commit || "";
        break;
      case "merge_conflict":
        title = `merge conflict in ${(d.paths || []).join(", ")}`;
        body = `sub-task #${d.task_id}`;
        break;
      case "waiting_queue": title = "waiting in the queue"; body = d.reason || ""; break;
      case "waiting_over": title = `wait over (${Number(d.waited_s).toFixed(1)} s)`; break;
      case "compaction": title = "compaction"; body = clip(d.summary || "", 600); break;
      default: body = clip(json(d), 2000);
    }
    const kind = e.kind.replace(/[^a-z_]/g, "");
    return el("li", {class: "ev k-" + kind, "data-step": String(e.step), "data-seq": String(e.seq)},
      el("span", {class: "step"}, `step ${e.step}${who ? " \u00b7 " + who : ""}`),
      el("strong", {}, " " + title), body ? el("pre", {}, body) : "");
  }

  // The pending question: from the runtime (GET .../question, which also knows a
  // workflow's approvals, not journaled before they are answered), else the journal's
  // pending tool call. The question may reach the front just after the state does.
  let asking = 0;
  async function showPending() {
    const box = document.getElementById("pending");
    const mine = ++asking;
    if (article.dataset.state !== "waiting") { box.hidden = true; return; }
    let question = null, options = [];
    for (let i = 0; i < 10 && mine === asking; i++) {
      const q = await (await api("GET", base + "/question")).json();
      if (q.question !== null) {
        question = q.question;
        options = q.options || (q.kind === "approval" ? ["yes", "no"] : []);
        break;
      }
      if (pending) break;
      await new Promise((done) => setTimeout(done, 300));
    }
    if (mine !== asking || article.dataset.state !== "waiting") return;
    if (question === null && pending) {
      question = pending.arguments.question; options = pending.arguments.options || [];
      if (pending.name !== "ask") {
        question = `Approve ${pending.name}: ${json(pending.arguments)}?`;
        options = ["yes", "no"];
      }
    }
    box.hidden = question === null;
    if (question === null) return;
    const opts = document.getElementById("options");
    opts.replaceChildren();
    document.getElementById("question").textContent = question;
    for (const o of options) {
      const b = el("button", {type: "button"}, o);
      b.addEventListener("click", () => answer(o));
      opts.append(b);
    }
  }

  function setWaiting(text) { document.getElementById("waiting").textContent = text; }

  function setState(state) {
    article.dataset.state = state;
    const s = document.getElementById("state");
    s.textContent = state; s.className = "state s-" + state;
    showPending();
  }

  function onEvent(e) {
    const t0 = performance.now();
    handle(e);
    perf.events++; perf.ms += performance.now() - t0;
  }

  function handle(e) {
    last = e.seq;
    if (e.kind === "model_turn") {
      who = [e.data.role, e.data.model].filter(Boolean).join(" \u00b7 ");
      stepWho.set(e.step, who);
    } else if (stepWho.has(e.step)) {
      who = stepWho.get(e.step);
    }
    timeline.append(entry(e));
    if (Number(slider.max) < e.step) {
      const following = slider.value === slider.max;  // at the newest step: stay there
      slider.max = String(e.step);
      if (following) { slider.value = slider.max; label(); }
    }
    if (e.kind === "tool_intent") pending = e.data;
    if (e.kind === "tool_result") pending = null;
    if (e.kind === "state") setState(e.data.to);
    if (e.kind === "waiting_queue" || e.kind === "waiting_budget") setWaiting(e.data.reason || "");
    if (e.kind === "waiting_over" || e.kind === "model_turn" || e.kind === "state") {
      if (!(e.kind === "state" && e.data.to === "queued")) setWaiting("");
    }
    if (e.kind === "model_turn" && e.data.usage) {
      const u = e.data.usage;
      tokens += (u.input_tokens || 0) + (u.output_tokens || 0);
      cost += u.cost_usd || 0;
      usage.ts.push(e.ts); usage.tokens.push(tokens); usage.cost.push(cost);
      document.getElementById("steps").textContent = String(e.step);
      const role = e.data.role || "coder";
      if (!(role in roles.totals)) { roles.names.push(role); roles.totals[role] = 0; }
      roles.totals[role] += u.cost_usd || 0;
      roles.ts.push(e.ts);
      roles.rows.push(roles.names.map((r) => roles.totals[r]));
    }
    if (e.kind === "handoff" && article.dataset.settled !== "1") usageTable();
  }

  function follow() {
    if (source) source.close();
    delete article.dataset.settled;
    source = new EventSource(`${base}/events?after=${last}`);
    source.onmessage = null;
    const kinds = ["state", "user", "system_prompt", "model_turn", "tool_intent", "tool_result",
      "approval", "compaction", "verification", "warning", "rollback", "error", "usage", "start",
      "end_turn", "reads", "message", "question", "handoff", "plan_approval", "push",
      "pull_request", "waiting_budget", "waiting_queue", "waiting_over", "servers", "initialized",
      "webhook_delivery", "end_step", "fanout", "merge", "merge_conflict"];
    const handle = (m) => { onEvent(JSON.parse(m.data)); schedule(); };
    for (const k of kinds) source.addEventListener(k, handle);
    source.onmessage = handle;
    source.addEventListener("end", (m) => {
      source.close(); source = null;
      const info = JSON.parse(m.data);
      setState(info.state);
      article.dataset.settled = "1";
      refresh();
    });
  }

  let timer = null;
  function schedule() {
    if (timer) return;
    timer = requestAnimationFrame(() => {
      const t0 = performance.now();
      timer = null; plot();
      perf.frames++; perf.frameMs += performance.now() - t0;
    });
  }

  async function refresh() {
    const diff = await (await api("GET", base + "/diff")).text();
    renderDiff(document.getElementById("diff"), diff);
    const rep = await api("GET", base + "/report");
    document.getElementById("report").textContent = rep.ok ? await rep.text() : "";
    const info = await (await api("GET", base)).json();
    document.getElementById("tokens").textContent =
      (info.usage.input_tokens + info.usage.output_tokens).toLocaleString("en-US");
    document.getElementById("cost").textContent = "$" + info.usage.cost_usd.toFixed(4);
    document.getElementById("steps").textContent = String(info.steps);
    document.getElementById("summary").textContent = info.summary || "";
    document.getElementById("error").textContent = info.error || "";
    setWaiting(info.waiting || "");
    if (info.pull_request_url) {
      const pr = document.getElementById("pr");
      pr.replaceChildren(el("a", {id: "pull-request", href: info.pull_request_url,
        rel: "noreferrer"}, info.pull_request_url));
    }
    if (info.verification) {
      const v = info.verification;
      document.getElementById("verification").textContent =
        `${v.passed ? "passed" : "failed"} ${v.command} ${v.summary || ""}`;
    }
    plot();
    await usageTable();
  }

  async function usageTable() {
    const r = await api("GET", base + "/usage");
    if (!r.ok) return;
    const rows = (await r.json()).roles;
    const total = rows.reduce((a, x) => a + x.cost_usd, 0);
    const body = document.querySelector("#roles tbody");
    body.replaceChildren(...rows.map((x) => {
      const share = total > 0 ? x.cost_usd / total : 0;
      const bar = el("span", {class: "bar", style: `width:${(share * 100).toFixed(1)}%`});
      return el("tr", {"data-role": x.role},
        el("td", {}, x.role), el("td", {}, x.model), el("td", {class: "n"}, String(x.steps)),
        el("td", {class: "n"}, (x.input_tokens + x.output_tokens).toLocaleString("en-US")),
        el("td", {class: "n"}, "$" + x.cost_usd.toFixed(4)),
        el("td", {class: "share"}, bar, " " + (share * 100).toFixed(0) + "%"),
        el("td", {class: "n"}, x.time_s.toFixed(1) + " s"));
    }));
  }

  let chart = null, roleChart = null, roleCount = 0;
  function plot() {
    const box = document.getElementById("usage-plot");
    if (!window.uPlot || !usage.ts.length) return;
    const axis = {stroke: window.codetap.dark() ? "#ccc" : "#333"};
    const data = [usage.ts, usage.tokens, usage.cost];
    if (chart) chart.setData(data);
    else {
      chart = new uPlot({width: Math.min(box.clientWidth || 800, 900), height: 200,
        scales: {cost: {}},
        series: [{}, {label: "tokens", stroke: "#2a7ae2", width: 2},
          {label: "cost $", stroke: "#d08000", width: 2, scale: "cost"}],
        axes: [axis, axis, {...axis, scale: "cost", side: 1}]}, data, box);
    }
    plotRoles(axis);
  }

  const palette = ["#2a7ae2", "#d08000", "#8a5cd6", "#2e9e44", "#cc3333", "#777"];
  function plotRoles(axis) {
    const box = document.getElementById("role-plot");
    const n = roles.names.length;
    const data = [roles.ts, ...roles.names.map((_, i) => roles.rows.map((row) => row[i] ?? 0))];
    if (roleChart && roleCount === n) { roleChart.setData(data); return; }
    if (roleChart) roleChart.destroy();
    roleCount = n;
    roleChart = new uPlot({width: Math.min(box.clientWidth || 800, 900), height: 180,
      series: [{}, ...roles.names.map((r, i) => ({label: r, stroke: palette[i % 6], width: 2,
        value: (u, v) => (v == null ? "-" : "$" + v.toFixed(4))}))],
      axes: [axis, {...axis, values: (u, vs) => vs.map((v) => "$" + v)}]}, data, box);
  }

  async function op(name, body) {
    status.textContent = `${name}...`;
    const r = await api("POST", `${base}/${name}`, body);
    const out = await r.json();
    status.textContent = r.ok ? `${name}: ${out.state}` : `${name}: ${out.detail}`;
    if (r.ok) { setState(out.state); if (!source) follow(); refresh(); }
    return r.ok;
  }
  const answer = (text) => op("answer", {answer: text});

  for (const b of document.querySelectorAll("button[data-op]")) {
    b.addEventListener("click", () => op(b.dataset.op));
  }
  document.getElementById("answer-form").addEventListener("submit", (ev) => {
    ev.preventDefault(); answer(document.getElementById("answer").value);
  });
  document.getElementById("rollback-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    op("rollback", {step: Number(document.getElementById("rollback-step").value)});
  });
  document.getElementById("message-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const input = document.getElementById("message");
    if (await op("messages", {text: input.value})) input.value = "";
  });

  const pushForm = document.getElementById("push-form");
  if (pushForm) {
    document.getElementById("push").addEventListener("click", () => op("push", {}));
    pushForm.addEventListener("submit", (ev) => {
      ev.preventDefault();
      const title = document.getElementById("pr-title").value.trim();
      const pr = {draft: document.getElementById("pr-draft").checked};
      if (title) pr.title = title;
      op("push", {pull_request: pr});
    });
  }

  function label() { document.getElementById("replay-label").textContent = slider.value; }

  async function replay() {
    const step = Number(slider.value);
    label();
    for (const li of timeline.children) {
      li.classList.toggle("future", Number(li.dataset.step) > step);
    }
    const text = await (await api("GET", `${base}/diff?step=${step}`)).text();
    if (Number(slider.value) !== step) return;
    const box = document.getElementById("replay-diff");
    renderDiff(box, text);
    box.dataset.step = String(step);
  }
  slider.addEventListener("input", replay);
  document.getElementById("replay-prev").addEventListener("click", () => {
    slider.value = String(Math.max(0, Number(slider.value) - 1)); replay();
  });
  document.getElementById("replay-next").addEventListener("click", () => {
    slider.value = String(Math.min(Number(slider.max), Number(slider.value) + 1)); replay();
  });

  const ENDED = new Set(["ready", "failed", "cancelled", "applied", "discarded"]);
  // The team tree: parent and sub-tasks follow the server-wide task stream.
  function treeUpdate(r) {
    let li = document.querySelector(`[data-tree="${r.id}"]`);
    if (!li && String(r.parent_id) === id) {
      li = el("li", {"data-tree": String(r.id), "data-relation": "child"},
        r.role ? el("span", {class: "role"}, r.role) : "", r.role ? " " : "",
        el("a", {href: "/tasks/" + r.id}, `#${r.id} ${window.codetap.firstLine(r.intent)}`),
        r.subtask ? el("span", {class: "muted"}, " " + r.subtask) : "", " ",
        el("span", {class: "state"}, ""));
      document.getElementById("subtasks").append(li);
      const n = document.getElementById("subtasks").children.length;
      document.getElementById("team-count").textContent = `${n} sub-task${n === 1 ? "" : "s"}`;
    }
    if (!li) return;
    if (String(r.id) === id) {
      if (!source && !ENDED.has(r.state)) follow();  // run again from elsewhere
      if (r.waiting) setWaiting(r.waiting);
    }
    const s = li.querySelector(":scope > .state");
    s.textContent = r.state; s.className = "state s-" + r.state;
  }
  const tasks = new EventSource("/v1/events");
  tasks.addEventListener("task", (m) => treeUpdate(JSON.parse(m.data).task));
  addEventListener("pagehide", () => { tasks.close(); if (source) source.close(); });

  follow();
  refresh();
})();
