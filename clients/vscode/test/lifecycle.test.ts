import { test } from "node:test";
import * as assert from "node:assert/strict";

import { Lifecycle, StderrTail, needsRestart, shouldRestart, spawnServer, startFailureMessage }
  from "../src/lifecycle";
import type { Client } from "../src/lifecycle";

/** A stand-in for vscode-languageclient with its start/stop rules: stop() throws unless
 * the client is running, as LanguageClient does after a failed start. */
class FakeClient implements Client {
  running = false;
  stops = 0;
  constructor(private readonly fail?: Error) {}
  start(): Promise<void> {
    if (this.fail) { return Promise.reject(this.fail); }
    this.running = true;
    return Promise.resolve();
  }
  stop(): Promise<void> {
    if (!this.running) { return Promise.reject(new Error("Client is not running and can't be stopped")); }
    this.running = false;
    this.stops += 1;
    return Promise.resolve();
  }
  needsStop(): boolean { return this.running; }
}

void test("a missing executable is reported with the spawn error and the codetap.path hint", async () => {
  const tail = new StderrTail();
  const err = await spawnServer("/nonexistent/codetap", ["lsp"], tail, () => undefined)
    .then(() => undefined, (e: unknown) => e);
  assert.ok(err instanceof Error);
  const msg = startFailureMessage("/nonexistent/codetap", err, tail.text());
  assert.match(msg, /cannot run \/nonexistent\/codetap: spawn \/nonexistent\/codetap ENOENT/);
  assert.match(msg, /Set codetap\.path/);
});

void test("a server that dies at start is reported with the last line of its stderr", async () => {
  const tail = new StderrTail();
  const logged: string[] = [];
  const proc = await spawnServer(process.execPath,
    ["-e", "process.stderr.write('Usage: codetap lsp\\nError: No such option: --bogus\\n'); process.exit(2)"],
    tail, (t) => { logged.push(t); });
  const code = await new Promise((resolve) => { proc.on("close", resolve); });
  assert.equal(code, 2);
  const msg = startFailureMessage("codetap", new Error("Connection closed"), tail.text());
  assert.match(msg, /did not start: Error: No such option: --bogus\./);
  assert.match(logged.join("\n"), /Usage: codetap lsp/);
});

void test("without stderr the error itself is the cause", () => {
  assert.match(startFailureMessage("codetap", new Error("initialize timed out"), ""),
    /\(codetap lsp\) did not start: initialize timed out\. Set codetap\.path/);
});

void test("the stderr tail keeps the last lines, joining chunks split mid-line", () => {
  const tail = new StderrTail(2);
  tail.push("one\ntw");
  tail.push("o\nthree\nfou");
  assert.equal(tail.text(), "two\nthree\nfou");
});

void test("stop never throws, also when the server never started", async () => {
  const life = new Lifecycle(() => new FakeClient(new Error("spawn codetap ENOENT")), () => undefined);
  await assert.rejects(life.start(), /ENOENT/);
  assert.equal(life.current, undefined);
  await life.stop();
  await new Lifecycle(() => new FakeClient(), () => undefined).stop();
});

void test("restart stops the running client and starts a new one", async () => {
  const made: FakeClient[] = [];
  const life = new Lifecycle(() => { const c = new FakeClient(); made.push(c); return c; }, () => undefined);
  const first = await life.start();
  const second = await life.restart();
  assert.notEqual(first, second);
  assert.equal(first.stops, 1);
  assert.equal(second.running, true);
  assert.equal(life.current, second);
  await life.stop();
  assert.equal(second.running, false);
});

void test("starts and restarts run one after the other", async () => {
  const order: string[] = [];
  let n = 0;
  const life = new Lifecycle(() => {
    const id = ++n;
    return { needsStop: () => true, stop: () => { order.push(`stop${id}`); return Promise.resolve(); },
      start: async () => { order.push(`start${id}`); await new Promise((r) => setTimeout(r, 5)); order.push(`up${id}`); } };
  }, () => undefined);
  await Promise.all([life.start(), life.restart()]);
  assert.deepEqual(order, ["start1", "up1", "stop1", "start2", "up2"]);
});

void test("settings that shape the server process need a restart; the model does not", () => {
  assert.equal(needsRestart((s) => s === "codetap.path"), true);
  assert.equal(needsRestart((s) => s === "codetap.args"), true);
  assert.equal(needsRestart((s) => s === "codetap.documentSelector"), true);
  assert.equal(needsRestart((s) => s === "codetap.model"), false);
  assert.equal(needsRestart(() => false), false);
});

void test("a server that was running is restarted a few times, one that never ran is not", () => {
  assert.equal(shouldRestart(false, [], 0), false);
  assert.equal(shouldRestart(true, [], 1000), true);
  assert.equal(shouldRestart(true, [1, 2, 3, 4], 1000), false);
  assert.equal(shouldRestart(true, [1, 2, 3, 4], 200_000), true);
});
