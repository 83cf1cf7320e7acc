import { test } from "node:test";
import * as assert from "node:assert/strict";

import { askPrompt, diagnosticIntent, startParams } from "../src/requests";
import { DEFAULT_LANGUAGES, parseSettings } from "../src/settings";

const SEL = { start: { line: 2, character: 0 }, end: { line: 4, character: 1 } };

void test("start params: scope only for a non-empty range; model when set", () => {
  assert.deepEqual(startParams("  fix it ", { rootUri: "file:///r" }),
    { intent: "fix it", root_uri: "file:///r" });
  assert.deepEqual(startParams("fix", { rootUri: "file:///r", uri: "file:///r/a.py", range: SEL, model: "m" }),
    { intent: "fix", root_uri: "file:///r", scope: { uri: "file:///r/a.py", range: SEL }, model: "m" });
  const empty = { start: SEL.start, end: SEL.start };
  assert.equal(startParams("fix", { rootUri: "r", uri: "u", range: empty }).scope, undefined);
  assert.throws(() => startParams("  ", { rootUri: "r" }), /needs an intent/);
});

void test("diagnostic intent names line, source and first message line", () => {
  assert.equal(diagnosticIntent("bad thing\nmore", "pyright", 4),
    "Fix this problem on line 5 (pyright): bad thing");
});

void test("ask prompts: options pick, approval yes/no, free question input", () => {
  assert.deepEqual(askPrompt({ id: "3", kind: "question", question: "Which?", options: ["a", "b"] }),
    { kind: "pick", title: "codetap task 3 asks: Which?", items: ["a", "b"] });
  assert.deepEqual(askPrompt({ id: "3", kind: "approval", question: "Run rm?" }),
    { kind: "pick", title: "codetap task 3 asks for approval: Run rm?", items: ["yes", "no"] });
  assert.equal(askPrompt({ id: "3", kind: "question", question: "Name?" }).kind, "input");
});

void test("settings: defaults, values, and wrong types reported", () => {
  const none = parseSettings(() => undefined);
  assert.deepEqual(none.settings, { command: "codetap", args: ["lsp"], model: undefined,
    languages: DEFAULT_LANGUAGES });
  assert.deepEqual(none.problems, []);
  const vals: Record<string, unknown> = { path: "/opt/bin/codetap", args: ["--no-daemon"],
    model: "fast", documentSelector: 3 };
  const got = parseSettings((k) => vals[k]);
  assert.deepEqual(got.settings.args, ["lsp", "--no-daemon"]);
  assert.equal(got.settings.command, "/opt/bin/codetap");
  assert.equal(got.settings.model, "fast");
  assert.deepEqual(got.settings.languages, DEFAULT_LANGUAGES);
  assert.deepEqual(got.problems, ["codetap.documentSelector has the wrong type; using the default"]);
});
