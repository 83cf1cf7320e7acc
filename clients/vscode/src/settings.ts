/**
 * The extension's settings (package.json "contributes.configuration"), parsed in one
 * place. src/host.ts reads the raw values from VS Code and passes a getter here.
 */

/** Parsed settings. `command` + `args` is the server command line (`<path> lsp ...`). */
export interface Settings {
  command: string;
  args: string[];
  model: string | undefined;
  languages: string[];
}

export const DEFAULT_LANGUAGES = [
  "python", "javascript", "typescript", "go", "rust", "c", "cpp", "lua", "java",
];

function strings(v: unknown): string[] | undefined {
  return Array.isArray(v) && v.every((x) => typeof x === "string") ? v : undefined;
}

/**
 * Settings from `get(key)` (key without the `codetap.` prefix). Wrongly typed values
 * fall back to the defaults and are reported in `problems` so the user can be told.
 */
export function parseSettings(get: (key: string) => unknown):
  { settings: Settings; problems: string[] } {
  const problems: string[] = [];
  const path = get("path");
  const args = get("args");
  const model = get("model");
  const langs = get("documentSelector");
  const pick = <T>(key: string, raw: unknown, ok: T | undefined, fallback: T): T => {
    if (raw !== undefined && ok === undefined) {
      problems.push(`codetap.${key} has the wrong type; using the default`);
    }
    return ok ?? fallback;
  };
  const pathOk = typeof path === "string" && path.trim() !== "" ? path.trim() : undefined;
  return {
    settings: {
      command: pick("path", path, pathOk, "codetap"),
      args: ["lsp", ...pick("args", args, strings(args), [])],
      model: typeof model === "string" && model.trim() !== "" ? model.trim() : undefined,
      languages: pick("documentSelector", langs, strings(langs), DEFAULT_LANGUAGES),
    },
    problems,
  };
}
