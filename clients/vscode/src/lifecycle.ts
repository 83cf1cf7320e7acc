/**
 * The language server's life: spawning `<codetap.path> lsp` with its stderr kept, telling
 * the user why a start failed, restarting on settings changes or on request, and stopping
 * without throwing. No VS Code API here: src/host.ts adapts vscode-languageclient to
 * {@link Client}, so this is unit-tested under plain Node with real processes.
 */
import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";

/** What the lifecycle needs of a language client (vscode-languageclient's has these). */
export interface Client {
  start(): Promise<void>;
  stop(): Promise<void>;
  /** True while stop() has something to stop (languageclient's needsStop()). */
  needsStop(): boolean;
}

/** The last `max` lines a process wrote to stderr, for error messages. */
export class StderrTail {
  private lines: string[] = [];
  private partial = "";
  constructor(private readonly max = 20) {}

  push(chunk: string): void {
    const parts = (this.partial + chunk).split(/\r?\n/);
    this.partial = parts.pop() ?? "";
    this.lines.push(...parts.filter((l) => l.trim() !== ""));
    this.lines = this.lines.slice(-this.max);
  }

  clear(): void { this.lines = []; this.partial = ""; }

  /** The kept lines, oldest first (an unfinished last line included). */
  text(): string {
    return [...this.lines, ...(this.partial.trim() ? [this.partial] : [])].join("\n");
  }
}

/**
 * Spawn the server and settle once the OS has started it: resolves with the process,
 * rejects with the spawn error (ENOENT, EACCES, ...) naming the command. Everything the
 * process writes to stderr goes to `tail` and `log`.
 */
export function spawnServer(command: string, args: readonly string[], tail: StderrTail,
  log: (text: string) => void, env?: NodeJS.ProcessEnv): Promise<ChildProcess> {
  tail.clear();
  const proc = spawn(command, [...args], { stdio: ["pipe", "pipe", "pipe"], env });
  proc.stderr.setEncoding("utf8");
  proc.stderr.on("data", (chunk: string) => { tail.push(chunk); log(chunk.replace(/\n$/, "")); });
  return new Promise((resolve, reject) => {
    proc.once("spawn", () => { resolve(proc); });
    proc.once("error", (e) => { reject(new Error(`cannot run ${command}: ${e.message}`)); });
  });
}

/**
 * The message shown when the server could not start or died: the real cause (the last
 * line the server wrote to stderr, else the error) and where to fix the path.
 */
export function startFailureMessage(command: string, error: unknown, stderr: string): string {
  const lines = stderr.split("\n").map((l) => l.trim()).filter((l) => l !== "");
  const err = error instanceof Error ? error.message : typeof error === "string" ? error : "";
  const cause = lines.at(-1) ?? (err || "the server exited");
  return `codetap: the language server (${command} lsp) did not start: ${cause}. ` +
    "Set codetap.path to the codetap executable (the extension runs `<codetap.path> lsp`).";
}

/** Settings whose change needs a new server process (codetap.model is read per task). */
export const RESTART_SETTINGS = ["codetap.path", "codetap.args", "codetap.documentSelector"];

/** Whether a configuration change (VS Code's `affectsConfiguration`) needs a restart. */
export function needsRestart(affects: (section: string) => boolean): boolean {
  return RESTART_SETTINGS.some((s) => affects(s));
}

/** Whether the server process that just closed is started again: at most `max` times in
 * `windowMs` (like languageclient's default), and never if it never got running. */
export function shouldRestart(everRunning: boolean, restarts: number[], now: number,
  max = 4, windowMs = 180_000): boolean {
  return everRunning && restarts.filter((t) => now - t < windowMs).length < max;
}

/**
 * One server at a time: start, stop and restart are serialised, so a settings change
 * during a start waits for it. `make` builds a fresh client for each start.
 */
export class Lifecycle<C extends Client> {
  private client: C | undefined;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly make: () => C, private readonly log: (text: string) => void) {}

  /** The running client, if any. */
  get current(): C | undefined { return this.client; }

  /** Start a new client; rejects with the start error (the client is then dropped). */
  start(): Promise<C> { return this.run(() => this.doStart()); }

  /** Stop the client if there is one; never rejects (a failure is logged). */
  stop(): Promise<void> { return this.run(() => this.doStop()); }

  /** Stop, then start a new client; rejects like start(). */
  restart(): Promise<C> { return this.run(async () => { await this.doStop(); return this.doStart(); }); }

  private run<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.queue.then(fn, fn);
    this.queue = next.catch(() => undefined);
    return next;
  }

  private async doStart(): Promise<C> {
    const client = this.make();
    this.client = client;
    try {
      await client.start();
    } catch (e) {
      this.client = undefined;
      await this.quietStop(client);
      throw e;
    }
    return client;
  }

  private async doStop(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    if (client) { await this.quietStop(client); }
  }

  private async quietStop(client: C): Promise<void> {
    try {
      if (client.needsStop()) { await client.stop(); }
    } catch (e) {
      this.log(`codetap: stopping the language server: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
}
