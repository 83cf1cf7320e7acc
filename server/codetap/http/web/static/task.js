// Task page: the journal from GET /v1/tasks/{id}/events (live until the task settles),
// controls, replay (diff at step N), the change, the report and the usage plot.
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
  let last = 0, pending = null, source = null, tokens = 0, cost = 0;

  const json = (v) => JSON.stringify(v, null, 1);
  const clip = (s, n) => (s.length > n ? s.slice(0, n) + " ..." : s);

  function entry(e) {
    const d = e.data || {};
    let title = e.kind, body = "";
    switch (e.kind) {
      case "state": title = `state: ${d.from} \u2192 ${d.to}`; break;
      case "model_turn": {
        const m = d.message || {};
        title = `model turn (${d.model || ""})`;
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
      default: body = clip(json(d), 2000);
    }
    const kind = e.kind.replace(/[^a-z_]/g, "");
    return el("li", {class: "ev k-" + kind, "data-step": String(e.step), "data-seq": String(e.seq)},
      el("span", {class: "step"}, "step " + e.step), el("strong", {}, " " + title),
      body ? el("pre", {}, body) : "");
  }

  function showPending() {
    const box = document.getElementById("pending");
    const waiting = article.dataset.state === "waiting" && pending;
    box.hidden = !waiting;
    if (!waiting) return;
    const opts = document.getElementById("options");
    opts.replaceChildren();
    let question = pending.arguments.question, options = pending.arguments.options || [];
    if (pending.name !== "ask") {
      question = `Approve ${pending.name}: ${json(pending.arguments)}?`;
      options = ["yes", "no"];
    }
    document.getElementById("question").textContent = question;
    for (const o of options) {
      const b = el("button", {type: "button"}, o);
      b.addEventListener("click", () => answer(o));
      opts.append(b);
    }
  }

  function setState(state) {
    article.dataset.state = state;
    const s = document.getElementById("state");
    s.textContent = state; s.className = "state s-" + state;
    showPending();
  }

  function onEvent(e) {
    last = e.seq;
    timeline.append(entry(e));
    if (Number(slider.max) < e.step) {
      const following = slider.value === slider.max;  // at the newest step: stay there
      slider.max = String(e.step);
      if (following) { slider.value = slider.max; label(); }
    }
    if (e.kind === "tool_intent") pending = e.data;
    if (e.kind === "tool_result") pending = null;
    if (e.kind === "state") setState(e.data.to);
    if (e.kind === "model_turn" && e.data.usage) {
      const u = e.data.usage;
      tokens += (u.input_tokens || 0) + (u.output_tokens || 0);
      cost += u.cost_usd || 0;
      usage.ts.push(e.ts); usage.tokens.push(tokens); usage.cost.push(cost);
      document.getElementById("steps").textContent = String(e.step);
    }
  }

  function follow() {
    if (source) source.close();
    source = new EventSource(`${base}/events?after=${last}`);
    source.onmessage = null;
    const kinds = ["state", "user", "system_prompt", "model_turn", "tool_intent", "tool_result",
      "approval", "compaction", "verification", "warning", "rollback", "error", "usage", "start",
      "end_turn", "reads", "message", "question"];
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
    timer = requestAnimationFrame(() => { timer = null; plot(); });
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
    if (info.verification) {
      const v = info.verification;
      document.getElementById("verification").textContent =
        `${v.passed ? "passed" : "failed"} ${v.command} ${v.summary || ""}`;
    }
    plot();
  }

  let chart = null;
  function plot() {
    const box = document.getElementById("usage-plot");
    if (!window.uPlot || !usage.ts.length) return;
    const data = [usage.ts, usage.tokens, usage.cost];
    if (chart) { chart.setData(data); return; }
    const axis = {stroke: window.codetap.dark() ? "#ccc" : "#333"};
    chart = new uPlot({width: Math.min(box.clientWidth || 800, 900), height: 200,
      scales: {cost: {}},
      series: [{}, {label: "tokens", stroke: "#2a7ae2", width: 2},
        {label: "cost $", stroke: "#d08000", width: 2, scale: "cost"}],
      axes: [axis, axis, {...axis, scale: "cost", side: 1}]}, data, box);
  }

  async function op(name, body) {
    status.textContent = `${name}...`;
    const r = await api("POST", `${base}/${name}`, body);
    const out = await r.json();
    status.textContent = r.ok ? `${name}: ${out.state}` : `${name}: ${out.detail}`;
    if (r.ok) { setState(out.state); if (!source) follow(); }
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

  follow();
  refresh();
})();
