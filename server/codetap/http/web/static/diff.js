// A unified diff (git diff) shown side by side, one table per file.
"use strict";
window.codetap.renderDiff = (box, text) => {
  const {el} = window.codetap;
  box.replaceChildren();
  if (!text.trim()) { box.append(el("p", {class: "muted"}, "No change.")); return; }
  let table = null, left = 0, right = 0, dels = [], adds = [];
  const flush = () => {
    for (let i = 0; i < Math.max(dels.length, adds.length); i++) {
      const d = dels[i], a = adds[i];
      table.append(el("tr", {},
        el("td", {class: "ln"}, d === undefined ? "" : String(left++)),
        el("td", {class: d === undefined ? "" : "del"}, d === undefined ? "" : d),
        el("td", {class: "ln"}, a === undefined ? "" : String(right++)),
        el("td", {class: a === undefined ? "" : "add"}, a === undefined ? "" : a)));
    }
    dels = []; adds = [];
  };
  for (const line of text.split("\n")) {
    if (line.startsWith("diff --git ")) {
      if (table) flush();
      const name = line.split(" b/").pop();
      table = el("table", {class: "sbs"}, el("caption", {}, name));
      box.append(el("section", {class: "file", "data-file": name}, table));
    } else if (!table || line.startsWith("index ") || line.startsWith("--- ")
               || line.startsWith("+++ ") || line.startsWith("\\")) {
      continue;
    } else if (line.startsWith("@@")) {
      flush();
      const m = /-(\d+)(?:,\d+)? \+(\d+)/.exec(line);
      if (m) { left = Number(m[1]); right = Number(m[2]); }
      table.append(el("tr", {class: "hunk"}, el("td", {colspan: "4"}, line)));
    } else if (line.startsWith("-")) {
      dels.push(line.slice(1));
    } else if (line.startsWith("+")) {
      adds.push(line.slice(1));
    } else if (line.startsWith(" ")) {
      flush();
      const t = line.slice(1);
      table.append(el("tr", {}, el("td", {class: "ln"}, String(left++)), el("td", {}, t),
        el("td", {class: "ln"}, String(right++)), el("td", {}, t)));
    }
  }
  if (table) flush();
};
