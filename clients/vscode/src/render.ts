/**
 * Rendering decisions (no VS Code API): tree items, status bar text, which tasks an
 * action applies to. src/host.ts turns these plain objects into VS Code objects.
 */
import type { TaskInfo, UsageInfo } from "./generated/protocol";

/** A task as a tree row. `icon` is a codicon id, `contextValue` drives menus. */
export interface TaskRow {
  id: string;
  label: string;
  description: string;
  tooltip: string;
  icon: string;
  spin: boolean;
  contextValue: string;
}

const ICONS: Record<string, string> = {
  queued: "clock",
  running: "sync",
  waiting: "question",
  paused: "debug-pause",
  ready: "diff",
  applied: "check",
  discarded: "trash",
  cancelled: "circle-slash",
  failed: "error",
  interrupted: "warning",
};

const ACTIVE = new Set(["queued", "running", "waiting"]);

/** Token count for people: 950, 12.3k, 4.1M. */
export function formatTokens(n: number): string {
  if (n < 1000) {
    return String(n);
  }
  if (n < 1_000_000) {
    return `${(n / 1000).toFixed(n < 10_000 ? 1 : 0)}k`;
  }
  return `${(n / 1_000_000).toFixed(1)}M`;
}

/** Cost in US dollars: $0.004, $0.12, $3.40. */
export function formatCost(usd: number): string {
  return usd > 0 && usd < 0.01 ? `$${usd.toFixed(3)}` : `$${usd.toFixed(2)}`;
}

/** "1.2k tok, $0.01": input + output tokens and cost. */
export function formatUsage(u: UsageInfo): string {
  return `${formatTokens(u.input_tokens + u.output_tokens)} tok, ${formatCost(u.cost_usd)}`;
}

function shorten(text: string, max: number): string {
  const line = text.split("\n")[0] ?? "";
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}

/** "1 step", "3 steps": a count and an English noun with a regular plural. */
export function plural(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? "" : "s"}`;
}

/** The tree row of one task: "#7 fix the parser" / "running · 3 steps · 1.2k tok, $0.01". */
export function taskRow(t: TaskInfo, latestEvent?: string): TaskRow {
  const steps = plural(t.steps, "step");
  const tooltip = [
    `Task ${t.id}: ${t.intent}`,
    `State: ${t.state}${latestEvent ? ` (last event: ${latestEvent})` : ""}`,
    `Steps: ${t.steps}`,
    `Tokens: ${t.usage.input_tokens} in, ${t.usage.output_tokens} out`,
    `Cost: ${formatCost(t.usage.cost_usd)}`,
    `Branch: ${t.branch}`,
    ...(t.summary ? [`Summary: ${t.summary}`] : []),
    ...(t.error ? [`Error: ${t.error}`] : []),
  ].join("\n");
  return {
    id: t.id,
    label: `#${t.id} ${shorten(t.intent, 60)}`,
    description: `${t.state} · ${steps} · ${formatUsage(t.usage)}`,
    tooltip,
    icon: ICONS[t.state] ?? "circle-outline",
    spin: t.state === "running",
    contextValue: `codetap-task state-${t.state}${ACTIVE.has(t.state) ? " active" : ""}` +
      (t.state === "paused" ? " active" : ""),
  };
}

/** Status bar text and whether to show it: active tasks first, then ready ones. */
export function statusText(tasks: readonly TaskInfo[]): { text: string; visible: boolean } {
  const active = tasks.filter((t) => ACTIVE.has(t.state));
  const ready = tasks.filter((t) => t.state === "ready");
  if (active.length > 0) {
    const steps = active.reduce((n, t) => n + t.steps, 0);
    const waiting = active.some((t) => t.state === "waiting") ? " (waiting for you)" : "";
    return { text: `$(sync~spin) codetap: ${active.length} running, ${plural(steps, "step")}${waiting}`,
      visible: true };
  }
  if (ready.length > 0) {
    return { text: `$(diff) codetap: ${ready.length} ready for review`, visible: true };
  }
  return { text: "codetap", visible: false };
}

/** Task-changing actions of the extension. */
export type Action = "cancel" | "pause" | "resume" | "rollback" | "apply" | "discard" | "diff";

const ALLOWED: Record<Action, readonly string[]> = {
  cancel: ["queued", "running", "waiting", "paused", "interrupted"],
  pause: ["queued", "running", "waiting"],
  resume: ["paused", "interrupted"],
  rollback: ["running", "waiting", "paused", "ready", "interrupted", "failed", "cancelled"],
  apply: ["ready"],
  discard: ["ready"],
  diff: ["ready"],
};

/** The tasks `action` makes sense for, newest first (for the task quick pick). */
export function tasksFor(action: Action, tasks: readonly TaskInfo[]): TaskInfo[] {
  return tasks.filter((t) => ALLOWED[action].includes(t.state));
}

/** A rollback step typed by the user: the number, or an error message for the input box. */
export function parseStep(input: string, steps: number): number | string {
  const text = input.trim();
  if (!/^\d+$/.test(text)) {
    return "Enter a step number (0 = before the first step).";
  }
  const n = Number(text);
  return n > steps ? `The task has ${plural(steps, "step")}; enter 0..${steps}.` : n;
}
