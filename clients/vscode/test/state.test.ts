import { test } from "node:test";
import * as assert from "node:assert/strict";

import type { TaskInfo } from "../src/generated/protocol";
import { ProtocolError, ProtocolState } from "../src/state";

function info(id: string, state: string, steps = 0): TaskInfo {
  return { id, intent: `task ${id}`, state, root_uri: "file:///r", branch: `codetap/task-${id}`,
    base_commit: "abc", steps, usage: { input_tokens: 10, output_tokens: 5, cost_usd: 0.001 },
    created_at: "2025-01-01T00:00:00Z", updated_at: "2025-01-01T00:00:00Z", priority: 0 };
}

const HUNK = { hunk_id: "1-a-0-b", old_text: "x\n", new_text: "y\n", conflict: false,
  range: { start: { line: 1, character: 0 }, end: { line: 2, character: 0 } } };

void test("task/updated upserts and notifies; list is newest first", () => {
  const s = new ProtocolState();
  let calls = 0;
  s.onChange(() => { calls++; });
  s.taskUpdated(info("2", "running"));
  s.taskUpdated(info("10", "queued"));
  s.taskUpdated(info("2", "running", 3));
  assert.equal(calls, 3);
  assert.deepEqual(s.list().map((t) => [t.id, t.steps]), [["10", 0], ["2", 3]]);
});

void test("suggestions are kept per task and dropped when the task leaves ready", () => {
  const s = new ProtocolState();
  s.taskUpdated(info("3", "ready"));
  s.suggestionsChanged({ id: "3", files: [{ uri: "file:///r/a.py", version: 4, hunks: [HUNK] }] });
  assert.deepEqual(s.hunksIn("file:///r/a.py").map((h) => [h.taskId, h.hunk.hunk_id]), [["3", "1-a-0-b"]]);
  assert.deepEqual(s.uris(), ["file:///r/a.py"]);
  s.taskUpdated(info("3", "applied"));
  assert.deepEqual(s.hunksIn("file:///r/a.py"), []);
});

void test("an empty files list withdraws the task's suggestions", () => {
  const s = new ProtocolState();
  s.suggestionsChanged({ id: "3", files: [{ uri: "file:///r/a.py", hunks: [HUNK] }] });
  s.suggestionsChanged({ id: "3", files: [] });
  assert.deepEqual(s.filesOf("3"), []);
});

void test("malformed messages are refused with a clear error and change nothing", () => {
  const s = new ProtocolState();
  s.taskUpdated(info("1", "running"));
  const bad = { ...info("1", "failed"), steps: "three" };
  assert.throws(() => s.taskUpdated(bad), (e: unknown) => e instanceof ProtocolError &&
    e.message === "codetap: bad codetap/task/updated message: field 'steps' must be a number");
  assert.equal(s.task("1")?.state, "running");
  assert.throws(() => { s.suggestionsChanged({ id: "1", files: [{ uri: "u", hunks: [{}] }] }); },
    /each hunk needs 'hunk_id'/);
  assert.throws(() => { s.replaceTasks({ items: [] }); }, /result needs 'tasks'/);
  assert.throws(() => { s.taskEvent(null); }, /needs 'id' and 'kind'/);
});

void test("task/list result replaces the tasks; events are remembered", () => {
  const s = new ProtocolState();
  s.taskUpdated(info("9", "failed"));
  s.replaceTasks({ tasks: [info("1", "ready"), info("2", "paused")] });
  assert.deepEqual(s.list().map((t) => t.id), ["2", "1"]);
  s.taskEvent({ id: "2", seq: 4, kind: "tool_call", data: {} });
  assert.equal(s.latestEvent("2"), "tool_call");
});
