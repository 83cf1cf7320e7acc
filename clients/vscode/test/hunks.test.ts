import { test } from "node:test";
import * as assert from "node:assert/strict";

import type { SuggestionHunk } from "../src/generated/protocol";
import { addedPlacement, applyHunks, coveredLines, decorate, hunkAtLine, lenses, offsetAt,
  splitLines } from "../src/hunks";

function hunk(sl: number, sc: number, el: number, ec: number, oldText: string, newText: string,
  conflict = false, id = "h1"): SuggestionHunk {
  return { hunk_id: id, range: { start: { line: sl, character: sc }, end: { line: el, character: ec } },
    old_text: oldText, new_text: newText, conflict };
}

const CALC = "def add(a, b):\n    return a - b\n\n\ndef mul(a, b):\n    return a * b\n";

void test("whole-line replacement highlights the old line and pairs the new one", () => {
  const d = decorate(hunk(1, 0, 2, 0, "    return a - b\n", "    return a + b\n"));
  assert.deepEqual(d.removedLines, { first: 1, last: 1 });
  assert.deepEqual(d.addedLines, ["    return a + b"]);
  assert.equal(d.lensLine, 1);
  assert.deepEqual(addedPlacement(d), [{ line: 1, text: "→     return a + b" }]);
});

void test("more added than removed lines: extras joined on the last removed line", () => {
  const d = decorate(hunk(0, 0, 1, 0, "x\n", "a\nb\nc\n"));
  assert.deepEqual(addedPlacement(d), [{ line: 0, text: "→ a ⏎ + b ⏎ c" }]);
});

void test("pure insertion anchors after the previous line and removes nothing", () => {
  const d = decorate(hunk(3, 0, 3, 0, "", "# new\n"));
  assert.equal(d.removed, null);
  assert.equal(d.removedLines, null);
  assert.deepEqual(addedPlacement(d), [{ line: 2, text: "+ # new" }]);
});

void test("pure deletion says so", () => {
  const d = decorate(hunk(2, 0, 4, 0, "\n\n", ""));
  assert.deepEqual(d.removedLines, { first: 2, last: 3 });
  assert.deepEqual(addedPlacement(d), [{ line: 3, text: "(deleted)" }]);
});

void test("coveredLines keeps a partial last line", () => {
  assert.deepEqual(coveredLines({ start: { line: 1, character: 4 }, end: { line: 2, character: 3 } }),
    { first: 1, last: 2 });
});

void test("splitLines handles CRLF and a trailing newline", () => {
  assert.deepEqual(splitLines("a\r\nb\n"), ["a", "b"]);
  assert.deepEqual(splitLines(""), []);
});

void test("lenses: accept+reject for clean hunks, conflict+reject for conflicts", () => {
  const rows = lenses("7", [hunk(1, 0, 2, 0, "a\n", "b\n"), hunk(5, 0, 6, 0, "c\n", "d\n", true, "h2")]);
  assert.deepEqual(rows.map((r) => [r.line, r.action, r.hunkId]),
    [[1, "accept", "h1"], [1, "reject", "h1"], [5, "conflict", "h2"], [5, "reject", "h2"]]);
  assert.equal(rows[0]?.title, "Accept (task 7)");
});

void test("applyHunks applies clean hunks bottom-up and skips conflicts", () => {
  const out = applyHunks(CALC, [
    hunk(1, 0, 2, 0, "    return a - b\n", "    return a + b\n"),
    hunk(5, 11, 5, 16, "a * b", "a ** b", true, "h2"),
    hunk(0, 4, 0, 7, "add", "plus", false, "h3"),
  ]);
  assert.equal(out, CALC.replace("a - b", "a + b").replace("def add", "def plus"));
});

void test("offsetAt counts UTF-16 units and clamps past the end of a line", () => {
  const text = "é😀x\nnext";
  assert.equal(offsetAt(text, 0, 3), 3);
  assert.equal(text.slice(offsetAt(text, 0, 3)), "x\nnext");
  assert.equal(offsetAt(text, 0, 99), 4);
  assert.equal(offsetAt(text, 9, 0), text.length);
});

void test("hunkAtLine finds the hunk covering a line", () => {
  const hunks = [hunk(1, 0, 3, 0, "a\nb\n", "c\n"), hunk(6, 0, 6, 0, "", "x\n", false, "h2")];
  assert.equal(hunkAtLine(hunks, 2)?.hunk_id, "h1");
  assert.equal(hunkAtLine(hunks, 6)?.hunk_id, "h2");
  assert.equal(hunkAtLine(hunks, 4), undefined);
});
