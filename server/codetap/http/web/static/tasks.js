// Tasks page: follow GET /v1/events and keep the rows, the queue counts and the budget use
// current.
"use strict";
(() => {
  const {el, age, api, firstLine} = window.codetap;
  const table = document.getElementById("tasks");
  const tbody = table.tBodies[0];
  const live = document.getElementById("live");
  const filterState = table.dataset.state, filterRepo = table.dataset.repo;
  const firstPage = table.dataset.page === "1";
  let newest = Number(table.dataset.newest);

  function cells(r) {
    const repo = r.repo.replace(/\/+$/, "").split("/").pop();
    const link = el("a", {href: "/tasks/" + r.id}, `#${r.id} ${firstLine(r.intent)}`);
    const state = el("span", {}, el("span", {class: "state s-" + r.state}, r.state),
      r.waiting ? " " : "", r.waiting ? el("small", {class: "why"}, r.waiting) : "");
    const tokens = r.tokens.toLocaleString("en-US");
    return [link, state, r.role || "", r.model, repo, r.branch,
      el("time", {datetime: r.created_at}, age(r.created_at)),
      String(r.steps), tokens, "$" + r.cost_usd.toFixed(4)];
  }
  const numeric = new Set([7, 8, 9]);

  function render(r) {
    const tr = el("tr", {"data-id": String(r.id), "data-state": r.state});
    cells(r).forEach((c, i) => {
      const td = el("td", numeric.has(i) ? {class: "n"} : {}, c);
      if (i === 4) td.title = r.repo;
      tr.append(td);
    });
    return tr;
  }

  function update(r) {
    const old = tbody.querySelector(`tr[data-id="${r.id}"]`);
    const fits = (!filterState || r.state === filterState) && (!filterRepo || r.repo === filterRepo);
    if (old) {
      if (fits) old.replaceWith(render(r)); else old.remove();
    } else if (fits && r.id > newest) {  // created since: counted once, shown on page 1
      newest = r.id;
      const total = document.getElementById("total");
      total.textContent = String(Number(total.textContent) + 1);
      if (!firstPage) return;
      const newer = [...tbody.rows].find((tr) => Number(tr.dataset.id) < r.id);
      tbody.insertBefore(render(r), newer || null);
      if (tbody.rows.length > 50) tbody.lastElementChild.remove();
    }
  }

  function setCounts(counts) {
    for (const node of document.querySelectorAll("[id^=count-]")) {
      node.textContent = String(counts[node.id.slice(6)] || 0);
    }
  }

  const usd = (v) => (v == null ? "no limit" : "$" + v.toFixed(4));
  function setScheduler(s) {
    document.getElementById("cap").textContent = String(s.cap);
    for (const w of ["hour", "day"]) {
      const use = s.budget[w];
      document.getElementById("spent-" + w).textContent = usd(use.spent_usd);
      document.getElementById("limit-" + w).textContent = usd(use.limit_usd);
      const meter = document.getElementById("meter-" + w);
      if (meter) meter.value = use.spent_usd;
    }
    document.getElementById("blocked").textContent =
      s.blocked ? `Budget reached (${s.blocked}): model calls wait.` : "";
  }

  for (const t of document.querySelectorAll("#tasks time")) t.textContent = age(t.dateTime);
  const source = new EventSource("/v1/events");
  source.addEventListener("counts", (e) => {
    setCounts(JSON.parse(e.data));
    table.dataset.live = "1";
  });
  source.addEventListener("task", (e) => {
    const body = JSON.parse(e.data);
    update(body.task);
    setCounts(body.counts);
    setScheduler(body.scheduler);
    live.textContent = `Task #${body.task.id} is ${body.task.state}.`;
  });
  addEventListener("pagehide", () => source.close());

  async function plot() {
    const box = document.getElementById("state-plot");
    if (!box || !window.uPlot) return;
    const stats = await (await api("GET", "/v1/stats")).json();
    const states = ["queued", "running", "waiting", "ready", "applied", "failed", "cancelled"];
    const colours = ["#888", "#2a7ae2", "#d08000", "#2e9e44", "#116633", "#cc3333", "#777"];
    const xs = stats.hours.map((h) => h.start);
    const data = [xs, ...states.map((s) => stats.hours.map((h) => h[s] || 0))];
    const axis = {stroke: window.codetap.dark() ? "#ccc" : "#333"};
    new uPlot({width: Math.min(box.clientWidth || 800, 900), height: 220,
      series: [{}, ...states.map((s, i) => ({label: s, stroke: colours[i], width: 2}))],
      axes: [axis, axis]}, data, box);
  }
  plot();
})();
