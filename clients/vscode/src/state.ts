/**
 * Client-side protocol state (no VS Code API): tasks and suggestions as the server
 * last reported them, fed by codetap/task/updated, codetap/task/event and
 * codetap/suggestions (protocol/methods.md). Malformed messages are refused with an error
 * naming what is wrong; the state is left untouched.
 */
import type {
  FileSuggestions,
  SuggestionHunk,
  SuggestionsParams,
  TaskEventParams,
  TaskInfo,
} from "./generated/protocol";

/** Thrown for a server message that does not have the protocol's shape. */
export class ProtocolError extends Error {
  constructor(method: string, problem: string) {
    super(`codetap: bad ${method} message: ${problem}`);
    this.name = "ProtocolError";
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function need(method: string, obj: Record<string, unknown>, field: string, type: string): void {
  if (typeof obj[field] !== type) {
    throw new ProtocolError(method, `field '${field}' must be a ${type}`);
  }
}

/** `raw` as a TaskInfo; ProtocolError when a required field is missing or mistyped. */
export function parseTaskInfo(method: string, raw: unknown): TaskInfo {
  if (!isObject(raw)) {
    throw new ProtocolError(method, "params must be an object");
  }
  for (const f of ["id", "intent", "state", "root_uri", "created_at", "updated_at"]) {
    need(method, raw, f, "string");
  }
  need(method, raw, "steps", "number");
  if (!isObject(raw.usage)) {
    throw new ProtocolError(method, "field 'usage' must be an object");
  }
  return raw as unknown as TaskInfo;
}

/** `raw` as SuggestionsParams; ProtocolError on a bad shape. */
export function parseSuggestions(method: string, raw: unknown): SuggestionsParams {
  if (!isObject(raw)) {
    throw new ProtocolError(method, "params must be an object");
  }
  need(method, raw, "id", "string");
  if (!Array.isArray(raw.files)) {
    throw new ProtocolError(method, "field 'files' must be an array");
  }
  for (const f of raw.files as unknown[]) {
    if (!isObject(f) || typeof f.uri !== "string" || !Array.isArray(f.hunks)) {
      throw new ProtocolError(method, "each file needs 'uri' (string) and 'hunks' (array)");
    }
    for (const h of f.hunks as unknown[]) {
      if (!isObject(h) || typeof h.hunk_id !== "string" || !isObject(h.range) ||
        typeof h.new_text !== "string") {
        throw new ProtocolError(method, "each hunk needs 'hunk_id', 'range' and 'new_text'");
      }
    }
  }
  return raw as unknown as SuggestionsParams;
}

/** A hunk together with the task and file it belongs to. */
export interface PlacedHunk {
  taskId: string;
  uri: string;
  hunk: SuggestionHunk;
}

/** Tasks and suggestions; listeners run after every change. */
export class ProtocolState {
  private readonly tasks = new Map<string, TaskInfo>();
  private readonly suggestions = new Map<string, FileSuggestions[]>();
  private readonly lastEvent = new Map<string, string>();
  private readonly listeners: (() => void)[] = [];

  /** Register `fn` to run after each change; returns a function removing it. */
  onChange(fn: () => void): () => void {
    this.listeners.push(fn);
    return () => {
      const i = this.listeners.indexOf(fn);
      if (i >= 0) {
        this.listeners.splice(i, 1);
      }
    };
  }

  private changed(): void {
    for (const fn of [...this.listeners]) {
      fn();
    }
  }

  /** codetap/task/updated (or a request's TaskInfo result). */
  taskUpdated(raw: unknown, method = "codetap/task/updated"): TaskInfo {
    const info = parseTaskInfo(method, raw);
    this.tasks.set(info.id, info);
    if (info.state !== "ready") {
      this.suggestions.delete(info.id);
    }
    this.changed();
    return info;
  }

  /** Replace the whole task list (codetap/task/list result). */
  replaceTasks(raw: unknown): void {
    if (!isObject(raw) || !Array.isArray(raw.tasks)) {
      throw new ProtocolError("codetap/task/list", "result needs 'tasks' (array)");
    }
    const infos = (raw.tasks as unknown[]).map((t) => parseTaskInfo("codetap/task/list", t));
    this.tasks.clear();
    for (const t of infos) {
      this.tasks.set(t.id, t);
    }
    this.changed();
  }

  /** codetap/task/event: remembered as the task's latest activity. */
  taskEvent(raw: unknown): void {
    if (!isObject(raw) || typeof raw.id !== "string" || typeof raw.kind !== "string") {
      throw new ProtocolError("codetap/task/event", "needs 'id' and 'kind' (strings)");
    }
    const ev = raw as unknown as TaskEventParams;
    this.lastEvent.set(ev.id, ev.kind);
    this.changed();
  }

  /** codetap/suggestions: all current hunks of one task (empty files = withdrawn). */
  suggestionsChanged(raw: unknown): void {
    const params = parseSuggestions("codetap/suggestions", raw);
    const files = params.files.filter((f) => f.hunks.length > 0);
    if (files.length === 0) {
      this.suggestions.delete(params.id);
    } else {
      this.suggestions.set(params.id, files);
    }
    this.changed();
  }

  /** Tasks, newest first (ids are increasing integers as strings). */
  list(): TaskInfo[] {
    return [...this.tasks.values()].sort((a, b) => Number(b.id) - Number(a.id) ||
      b.created_at.localeCompare(a.created_at));
  }

  task(id: string): TaskInfo | undefined {
    return this.tasks.get(id);
  }

  latestEvent(id: string): string | undefined {
    return this.lastEvent.get(id);
  }

  /** The files with suggestions of task `id`. */
  filesOf(id: string): FileSuggestions[] {
    return this.suggestions.get(id) ?? [];
  }

  /** Every hunk shown in document `uri`, across tasks. */
  hunksIn(uri: string): PlacedHunk[] {
    const out: PlacedHunk[] = [];
    for (const [taskId, files] of this.suggestions) {
      for (const f of files) {
        if (f.uri === uri) {
          out.push(...f.hunks.map((hunk) => ({ taskId, uri, hunk })));
        }
      }
    }
    return out;
  }

  /** URIs of every document with suggestions. */
  uris(): string[] {
    const set = new Set<string>();
    for (const files of this.suggestions.values()) {
      files.forEach((f) => set.add(f.uri));
    }
    return [...set];
  }
}
