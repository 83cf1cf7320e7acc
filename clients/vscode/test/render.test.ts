import { test } from "node:test";
import * as assert from "node:assert/strict";

import type { TaskInfo } from "../src/generated/protocol";
import { formatCost, formatTokens, parseStep, statusText, taskRow, tasksFor } from "../src/render";

function info(id: string, state: string, steps = 1, extra: Partial<TaskInfo> = {}): TaskInfo {
  return { id, intent: "make add add\nmore detail", state, root_uri: "file:///r",
    branch: `codetap/task-${id}`, base_commit: "abc", steps,
    usage: { input_tokens: 1200, output_tokens: 34, cost_usd: 0.0123 },
    created_at: "t", updated_at: "t", priority: 0, ...extra };
}

void test("tree row shows state, steps, tokens and cost", () => {
  const row = taskRow(info("7", "running", 3), "tool_call");
  assert.equal(row.label, "#7 make add add");
  assert.equal(row.description, "running · 3 steps · 1.2k tok, $0.01");
  assert.equal(row.icon, "sync");
  assert.equal(row.spin, true);
  assert.match(row.contextValue, /state-running active/);
  assert.match(row.tooltip, /State: running \(last event: tool_call\)/);
  assert.match(row.tooltip, /Tokens: 1200 in, 34 out/);
});

void test("tree row of a failed task carries the error; singular step", () => {
  const row = taskRow(info("8", "failed", 1, { error: "model said no" }));
  assert.equal(row.description.split(" · ")[1], "1 step");
  assert.match(row.tooltip, /Error: model said no/);
  assert.doesNotMatch(row.contextValue, /active/);
});

void test("formatting of tokens and cost", () => {
  assert.equal(formatTokens(999), "999");
  assert.equal(formatTokens(12_345), "12k");
  assert.equal(formatTokens(4_100_000), "4.1M");
  assert.equal(formatCost(0.004), "$0.004");
  assert.equal(formatCost(0), "$0.00");
});

void test("status bar: active tasks, then ready ones, else hidden", () => {
  assert.deepEqual(statusText([info("1", "running", 2), info("2", "waiting", 1), info("3", "ready")]),
    { text: "$(sync~spin) codetap: 2 running, 3 steps (waiting for you)", visible: true });
  assert.deepEqual(statusText([info("3", "ready")]),
    { text: "$(diff) codetap: 1 ready for review", visible: true });
  assert.equal(statusText([info("4", "applied")]).visible, false);
});

void test("tasksFor filters by what the action allows", () => {
  const tasks = [info("1", "running"), info("2", "paused"), info("3", "ready")];
  assert.deepEqual(tasksFor("resume", tasks).map((t) => t.id), ["2"]);
  assert.deepEqual(tasksFor("apply", tasks).map((t) => t.id), ["3"]);
  assert.deepEqual(tasksFor("cancel", tasks).map((t) => t.id), ["1", "2"]);
});

void test("parseStep validates rollback input", () => {
  assert.equal(parseStep(" 2 ", 3), 2);
  assert.equal(parseStep("4", 3), "The task has 3 steps; enter 0..3.");
  assert.equal(parseStep("-1", 3), "Enter a step number (0 = before the first step).");
});

void test("one step is singular in the status bar and the rollback prompt", () => {
  assert.equal(statusText([info("1", "running", 1)]).text, "$(sync~spin) codetap: 1 running, 1 step");
  assert.equal(statusText([info("1", "running", 0)]).text, "$(sync~spin) codetap: 1 running, 0 steps");
  assert.equal(parseStep("2", 1), "The task has 1 step; enter 0..1.");
});
