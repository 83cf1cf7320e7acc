// Shared helpers of the codetap panel: API calls (the cookie carries the token), formats.
"use strict";
window.codetap = {
  async api(method, path, body) {
    const init = {method, headers: {}, credentials: "same-origin"};
    if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    const r = await fetch(path, init);
    if (r.status === 401 || r.status === 403) {
      location.href = "/login?next=" + encodeURIComponent(location.pathname);
      throw new Error("signed out");
    }
    return r;
  },
  age(stamp) {
    const s = Math.max(0, Math.floor((Date.now() - Date.parse(stamp)) / 1000));
    for (const [u, n] of [["d", 86400], ["h", 3600], ["m", 60]]) {
      if (s >= n) return Math.floor(s / n) + u;
    }
    return s + "s";
  },
  el(tag, attrs, ...kids) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "class") e.className = v; else e.setAttribute(k, v);
    }
    for (const k of kids) e.append(k);
    return e;
  },
  firstLine(text, limit = 80) {  // as html.first_line
    const line = text.trim().split("\n")[0];
    return line.length <= limit ? line : line.slice(0, limit - 1) + "\u2026";
  },
  dark() { return matchMedia("(prefers-color-scheme: dark)").matches; },
};
