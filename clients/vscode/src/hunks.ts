/**
 * Hunk -> decoration logic (no VS Code API): how one codetap suggestion is drawn.
 *
 * A hunk (codetap/suggestions, protocol/methods.md) replaces `old_text` at an LSP `range`
 * (0-based lines, UTF-16 characters: the same units as JavaScript strings) by `new_text`.
 * The editor shows it inline: the removed lines highlighted, the added lines as text
 * after the hunk's last line, and a CodeLens row (Accept / Reject, or Conflict) above it.
 */
import type { Range, SuggestionHunk } from "./generated/protocol";

/** A line-granular span: `first`..`last` inclusive, 0-based. */
export interface LineSpan {
  first: number;
  last: number;
}

/** What to draw for one hunk. */
export interface HunkDecoration {
  hunkId: string;
  conflict: boolean;
  /** Exact LSP range whose text is removed (empty for pure insertions). */
  removed: Range | null;
  /** Whole lines to highlight as removed (null for pure insertions). */
  removedLines: LineSpan | null;
  /** Line after whose end the added text is shown. */
  anchorLine: number;
  /** Added text, one entry per line (no trailing newline entry). */
  addedLines: string[];
  /** Line of the CodeLens row. */
  lensLine: number;
}

/** A CodeLens entry for a hunk: its title and the command it runs. */
export interface HunkLens {
  line: number;
  title: string;
  action: "accept" | "reject" | "conflict";
  taskId: string;
  hunkId: string;
}

function isEmpty(r: Range): boolean {
  return r.start.line === r.end.line && r.start.character === r.end.character;
}

/** The lines of `text` without the empty entry a trailing newline would add. */
export function splitLines(text: string): string[] {
  if (text === "") {
    return [];
  }
  const lines = text.split(/\r\n|\r|\n/);
  if (lines[lines.length - 1] === "") {
    lines.pop();
  }
  return lines;
}

/**
 * The lines a range covers; a range ending at character 0 of a later line (the usual
 * whole-line replacement) does not cover that line.
 */
export function coveredLines(r: Range): LineSpan {
  let last = r.end.line;
  if (r.end.character === 0 && r.end.line > r.start.line) {
    last -= 1;
  }
  return { first: r.start.line, last };
}

/** The decoration plan of one hunk. */
export function decorate(hunk: SuggestionHunk): HunkDecoration {
  const removing = !isEmpty(hunk.range) && hunk.old_text !== "";
  const span = coveredLines(hunk.range);
  return {
    hunkId: hunk.hunk_id,
    conflict: hunk.conflict,
    removed: removing ? hunk.range : null,
    removedLines: removing ? span : null,
    anchorLine: removing ? span.last : Math.max(0, hunk.range.start.line - 1),
    addedLines: splitLines(hunk.new_text),
    lensLine: hunk.range.start.line,
  };
}

/** CodeLens rows of a task's hunks: Accept + Reject for clean ones, Conflict otherwise. */
export function lenses(taskId: string, hunks: readonly SuggestionHunk[]): HunkLens[] {
  const out: HunkLens[] = [];
  for (const h of hunks) {
    const base = { line: h.range.start.line, taskId, hunkId: h.hunk_id };
    if (h.conflict) {
      out.push({ ...base, title: "codetap: conflict (buffer changed here)", action: "conflict" });
      out.push({ ...base, title: "Reject", action: "reject" });
    } else {
      out.push({ ...base, title: `Accept (task ${taskId})`, action: "accept" });
      out.push({ ...base, title: "Reject", action: "reject" });
    }
  }
  return out;
}

/** Character offset of an LSP position in `text` (clamped to the text). */
export function offsetAt(text: string, line: number, character: number): number {
  let offset = 0;
  for (let i = 0; i < line; i++) {
    const nl = text.indexOf("\n", offset);
    if (nl < 0) {
      return text.length;
    }
    offset = nl + 1;
  }
  const eol = text.indexOf("\n", offset);
  const end = eol < 0 ? text.length : eol;
  return Math.min(offset + character, end);
}

/**
 * `text` with the clean hunks applied (conflicts skipped): the right side of the
 * side-by-side task diff. Hunks are applied bottom-up so earlier ranges stay valid.
 */
export function applyHunks(text: string, hunks: readonly SuggestionHunk[]): string {
  const clean = hunks.filter((h) => !h.conflict);
  clean.sort((a, b) => b.range.start.line - a.range.start.line ||
    b.range.start.character - a.range.start.character);
  let out = text;
  for (const h of clean) {
    const start = offsetAt(out, h.range.start.line, h.range.start.character);
    const end = offsetAt(out, h.range.end.line, h.range.end.character);
    out = out.slice(0, start) + h.new_text + out.slice(end);
  }
  return out;
}

/** The hunk whose lines contain `line` (a pure insertion owns its start line). */
export function hunkAtLine(hunks: readonly SuggestionHunk[], line: number):
  SuggestionHunk | undefined {
  return hunks.find((h) => {
    const span = coveredLines(h.range);
    return line >= span.first && line <= Math.max(span.first, span.last);
  });
}

/** One piece of added text, shown after the end of `line`. */
export interface AddedText {
  line: number;
  text: string;
}

/**
 * Where the added lines of a hunk are shown (VS Code has no virtual lines): added line
 * i goes after removed line i ("→ new"); added lines beyond the removed ones are joined
 * with " ⏎ " after the anchor line (one entry per line, never two on the same line).
 */
export function addedPlacement(d: HunkDecoration): AddedText[] {
  const rows = d.removedLines ? d.removedLines.last - d.removedLines.first + 1 : 0;
  const out: AddedText[] = [];
  const paired = Math.min(rows, d.addedLines.length);
  for (let i = 0; i < paired; i++) {
    const first = d.removedLines ? d.removedLines.first : d.anchorLine;
    out.push({ line: first + i, text: `→ ${d.addedLines[i] ?? ""}` });
  }
  const rest = d.addedLines.slice(paired);
  if (rest.length > 0) {
    const more = `+ ${rest.join(" ⏎ ")}`;
    const last = out[out.length - 1];
    if (last?.line === d.anchorLine) {
      last.text = `${last.text} ⏎ ${more}`;
    } else {
      out.push({ line: d.anchorLine, text: more });
    }
  }
  if (d.addedLines.length === 0 && d.removedLines) {
    out.push({ line: d.removedLines.last, text: "(deleted)" });
  }
  return out;
}
