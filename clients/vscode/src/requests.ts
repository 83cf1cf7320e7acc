/**
 * Building request params and prompts (no VS Code API): codetap/task/start params from
 * the selection or a diagnostic, and how a codetap/ask request is put to the user.
 */
import type { AskParams, Range, TaskStartParams } from "./generated/protocol";

/** Where a task starts from: a document `uri`, and a non-empty `range` or none. */
export interface StartContext {
  rootUri: string;
  uri?: string;
  range?: Range;
  model?: string;
}

function isEmpty(r: Range): boolean {
  return r.start.line === r.end.line && r.start.character === r.end.character;
}

/** codetap/task/start params; a scope only when there is a non-empty range. */
export function startParams(intent: string, ctx: StartContext): TaskStartParams {
  const text = intent.trim();
  if (text === "") {
    throw new Error("codetap: the task needs an intent (what should be done?)");
  }
  const params: TaskStartParams = { intent: text, root_uri: ctx.rootUri };
  if (ctx.uri !== undefined && ctx.range !== undefined && !isEmpty(ctx.range)) {
    params.scope = { uri: ctx.uri, range: ctx.range };
  }
  if (ctx.model !== undefined) {
    params.model = ctx.model;
  }
  return params;
}

/** The intent proposed for "fix this diagnostic". */
export function diagnosticIntent(message: string, source?: string, line?: number): string {
  const where = line === undefined ? "" : ` on line ${line + 1}`;
  const from = source ? ` (${source})` : "";
  return `Fix this problem${where}${from}: ${message.split("\n")[0] ?? ""}`;
}

/** How to prompt for a codetap/ask: a quick pick over options, or a free-text input. */
export type Prompt =
  | { kind: "pick"; title: string; items: string[] }
  | { kind: "input"; title: string };

/** The prompt of an ask request; approvals without options offer yes / no. */
export function askPrompt(p: AskParams): Prompt {
  const title = `codetap task ${p.id} ${p.kind === "approval" ? "asks for approval" : "asks"}: ` +
    p.question;
  const options = p.options && p.options.length > 0 ? p.options
    : p.kind === "approval" ? ["yes", "no"] : [];
  return options.length > 0 ? { kind: "pick", title, items: options } : { kind: "input", title };
}
