/**
 * Every VS Code API call of the extension lives here; the decisions are made by the pure
 * modules (state, hunks, render, requests, settings), which are unit-tested without VS Code.
 *
 * The extension runs `<codetap.path> lsp` through vscode-languageclient over stdio, tells
 * the server it answers codetap/ask and draws codetap/suggestions itself
 * (initializationOptions.codetap), and keeps a task tree, a status bar item, inline
 * decorations, Accept/Reject CodeLenses and a side-by-side diff in sync with the server.
 */
import * as vscode from "vscode";
import { CloseAction, ErrorAction, LanguageClient } from "vscode-languageclient/node";
import type { CloseHandlerResult, LanguageClientOptions, ServerOptions } from "vscode-languageclient/node";

import * as P from "./generated/protocol";
import { addedPlacement, applyHunks, decorate, lenses } from "./hunks";
import { Lifecycle, StderrTail, needsRestart, shouldRestart, spawnServer, startFailureMessage }
  from "./lifecycle";
import { taskRow, statusText, tasksFor, parseStep } from "./render";
import type { Action } from "./render";
import { askPrompt, diagnosticIntent, startParams } from "./requests";
import { parseSettings } from "./settings";
import type { Settings } from "./settings";
import { ProtocolState } from "./state";

const PROPOSED = "codetap-proposed";

function readSettings(out: vscode.OutputChannel): Settings {
  const cfg = vscode.workspace.getConfiguration("codetap");
  const { settings, problems } = parseSettings((key) => cfg.get(key));
  problems.forEach((p) => { out.appendLine(p); void vscode.window.showWarningMessage(p); });
  return settings;
}

function fromRange(r: vscode.Range): P.Range {
  return { start: { line: r.start.line, character: r.start.character },
    end: { line: r.end.line, character: r.end.character } };
}

class TaskTree implements vscode.TreeDataProvider<P.TaskInfo> {
  private readonly emitter = new vscode.EventEmitter<undefined>();
  readonly onDidChangeTreeData = this.emitter.event;
  constructor(private readonly state: ProtocolState) {}
  refresh(): void { this.emitter.fire(undefined); }
  getChildren(): P.TaskInfo[] { return this.state.list(); }
  getTreeItem(t: P.TaskInfo): vscode.TreeItem {
    const row = taskRow(t, this.state.latestEvent(t.id));
    const item = new vscode.TreeItem(row.label, vscode.TreeItemCollapsibleState.None);
    item.id = `codetap-task-${row.id}`;
    item.description = row.description;
    item.tooltip = row.tooltip;
    item.contextValue = row.contextValue;
    item.iconPath = new vscode.ThemeIcon(row.spin ? `${row.icon}~spin` : row.icon);
    if (t.state === "ready") {
      item.command = { command: "codetap.showTaskDiff", title: "Show diff", arguments: [t] };
    }
    return item;
  }
}

/** languageclient shows "couldn't create connection to server" on every failed start; the
 * extension says why instead (Host.startFailed), so that one only goes to the log. */
class CodetapClient extends LanguageClient {
  override error(message: string, data?: unknown, show: boolean | "force" = true): void {
    super.error(message, data, message.includes("couldn't create connection") ? false : show);
  }
}

class Host {
  private readonly stderr = new StderrTail();
  private readonly life = new Lifecycle(() => this.makeClient(), (t) => { this.out.appendLine(t); });
  private command = "codetap";
  private everRunning = false;
  private readonly restarts: number[] = [];
  private readonly state = new ProtocolState();
  private readonly tree = new TaskTree(this.state);
  private readonly status = vscode.window.createStatusBarItem(vscode.StatusBarAlignment.Left);
  private readonly lensChanged = new vscode.EventEmitter<void>();
  private readonly proposedChanged = new vscode.EventEmitter<vscode.Uri>();
  private readonly removed = vscode.window.createTextEditorDecorationType({
    backgroundColor: new vscode.ThemeColor("diffEditor.removedLineBackground"),
    isWholeLine: true, textDecoration: "line-through",
  });
  private readonly conflict = vscode.window.createTextEditorDecorationType({
    backgroundColor: new vscode.ThemeColor("editorWarning.background"), isWholeLine: true,
    border: "1px dashed", borderColor: new vscode.ThemeColor("editorWarning.foreground"),
  });
  private readonly added = vscode.window.createTextEditorDecorationType({
    after: { color: new vscode.ThemeColor("gitDecoration.addedResourceForeground"),
      margin: "0 0 0 2em" },
  });

  constructor(private readonly ctx: vscode.ExtensionContext,
    private readonly out: vscode.OutputChannel) {}

  /** Start the server (again); a failure is shown to the user with its cause. */
  async start(): Promise<boolean> {
    this.everRunning = false;
    try {
      await this.life.restart();
    } catch (e) {
      this.startFailed(e);
      return false;
    }
    this.everRunning = true;
    this.out.appendLine(`codetap: language server running (${this.command} lsp)`);
    try {
      await this.refreshTasks();
    } catch (e) {
      this.out.appendLine(`codetap: listing tasks: ${e instanceof Error ? e.message : String(e)}`);
    }
    return true;
  }

  private makeClient(): LanguageClient {
    const s = readSettings(this.out);
    this.command = s.command;
    const server: ServerOptions = () => spawnServer(s.command, s.args, this.stderr,
      (t) => { this.out.appendLine(t); });
    const options: LanguageClientOptions = {
      documentSelector: s.languages.map((language) => ({ scheme: "file", language })),
      initializationOptions: { codetap: { ask: true, suggestions: true, events: true } },
      outputChannel: this.out,
      errorHandler: {
        error: (_e, _m, count) => ({ action: (count ?? 0) <= 3 ? ErrorAction.Continue : ErrorAction.Shutdown }),
        closed: () => this.closed(),
      },
    };
    const client = new CodetapClient("codetap", "codetap", server, options);
    const guard = (fn: (p: unknown) => void) => (p: unknown): void => {
      try { fn(p); } catch (e) { this.out.appendLine(String(e)); }
    };
    client.onNotification(P.TASK_UPDATED, guard((p) => this.state.taskUpdated(p)));
    client.onNotification(P.TASK_EVENT, guard((p) => { this.state.taskEvent(p); }));
    client.onNotification(P.SUGGESTIONS, guard((p) => { this.state.suggestionsChanged(p); }));
    client.onRequest(P.ASK, (p: P.AskParams) => this.ask(p));
    return client;
  }

  /** The server process closed: restart a server that was running (a few times), else
   * tell the user why (a failed start is reported by start() itself). */
  private closed(): CloseHandlerResult {
    const now = Date.now();
    if (shouldRestart(this.everRunning, this.restarts, now)) {
      this.restarts.push(now);
      return { action: CloseAction.Restart };
    }
    if (this.everRunning) { this.startFailed(new Error("the server exited")); }
    return { action: CloseAction.DoNotRestart, handled: true };
  }

  private startFailed(e: unknown): void {
    const msg = startFailureMessage(this.command, e, this.stderr.text());
    this.out.appendLine(msg);
    void vscode.window.showErrorMessage(msg, "Open Settings", "Show Log", "Restart").then((pick) => {
      if (pick === "Open Settings") {
        void vscode.commands.executeCommand("workbench.action.openSettings", "codetap.path");
      } else if (pick === "Show Log") {
        this.out.show();
      } else if (pick === "Restart") {
        void this.start();
      }
    });
  }

  /** Restart the server when a setting it was started with changes. */
  onSettingsChanged(e: vscode.ConfigurationChangeEvent): void {
    if (needsRestart((section) => e.affectsConfiguration(section))) {
      this.out.appendLine("codetap: settings changed; restarting the language server");
      void this.start();
    }
  }

  register(): void {
    const c = this.ctx.subscriptions;
    c.push(this.status, this.removed, this.conflict, this.added,
      vscode.window.registerTreeDataProvider("codetap.tasks", this.tree),
      vscode.languages.registerCodeLensProvider({ scheme: "file" },
        { onDidChangeCodeLenses: this.lensChanged.event,
          provideCodeLenses: (doc) => this.codeLenses(doc) }),
      vscode.workspace.registerTextDocumentContentProvider(PROPOSED,
        { onDidChange: this.proposedChanged.event, provideTextDocumentContent: (u) => this.proposed(u) }),
      vscode.window.onDidChangeVisibleTextEditors(() => { this.redraw(); }),
      vscode.workspace.onDidChangeConfiguration((e) => { this.onSettingsChanged(e); }));
    this.state.onChange(() => { this.tree.refresh(); this.redraw(); });
    const cmd = (name: string, fn: (...a: unknown[]) => Promise<unknown>): void => {
      c.push(vscode.commands.registerCommand(name, async (...args: unknown[]) => {
        try { await fn(...args); } catch (e) {
          void vscode.window.showErrorMessage(e instanceof Error ? e.message : String(e));
        }
      }));
    };
    cmd("codetap.startTask", () => this.startTask());
    cmd("codetap.fixDiagnostic", () => this.fixDiagnostic());
    cmd("codetap.refreshTasks", () => this.refreshTasks());
    cmd("codetap.restartServer", () => this.start());
    cmd("codetap.showTaskDiff", (t) => this.showDiff(t as P.TaskInfo | undefined));
    cmd("codetap.acceptHunk", (id, hunk) => this.request(P.TASK_APPLY,
      { id: String(id), hunk_ids: [String(hunk)] }));
    cmd("codetap.rejectHunk", (id, hunk) => this.request("workspace/executeCommand",
      { command: P.CMD_REJECT, arguments: [{ id: String(id), hunk_ids: [String(hunk)] }] }));
    const simple: [string, Action, string][] = [
      ["codetap.cancelTask", "cancel", P.TASK_CANCEL], ["codetap.pauseTask", "pause", P.TASK_PAUSE],
      ["codetap.resumeTask", "resume", P.TASK_RESUME], ["codetap.applyTask", "apply", P.TASK_APPLY],
      ["codetap.discardTask", "discard", P.TASK_DISCARD]];
    for (const [name, action, method] of simple) {
      cmd(name, async (t) => {
        const task = await this.pickTask(action, t as P.TaskInfo | undefined);
        if (task) { this.report(method, await this.request(method, { id: task.id })); }
      });
    }
    cmd("codetap.rollbackTask", async (t) => {
      const task = await this.pickTask("rollback", t as P.TaskInfo | undefined);
      if (!task) { return; }
      const input = await vscode.window.showInputBox({ title: `Roll back task ${task.id} to step`,
        validateInput: (v) => { const r = parseStep(v, task.steps); return typeof r === "string" ? r : null; } });
      const step = input === undefined ? undefined : parseStep(input, task.steps);
      if (typeof step === "number") { this.report(P.TASK_ROLLBACK, await this.request(P.TASK_ROLLBACK, { id: task.id, step })); }
    });
  }

  private async request(method: string, params: unknown): Promise<unknown> {
    const client = this.life.current;
    if (!client?.isRunning()) {
      throw new Error("codetap: the language server is not running (see the codetap output; " +
        "command: codetap: Restart Server)");
    }
    return client.sendRequest(method, params);
  }

  private report(method: string, result: unknown): void {
    if (method === P.TASK_APPLY) {
      const r = result as P.TaskApplyResult;
      void vscode.window.showInformationMessage(`codetap: applied ${r.applied} change(s)` +
        (r.conflicts ? `, ${r.conflicts} conflict(s) left` : ""));
    } else {
      this.state.taskUpdated(result, method);
    }
  }

  private async refreshTasks(): Promise<void> {
    this.state.replaceTasks(await this.request(P.TASK_LIST, {}));
  }

  private rootUri(doc?: vscode.TextDocument): string {
    const folder = (doc && vscode.workspace.getWorkspaceFolder(doc.uri)) ?? vscode.workspace.workspaceFolders?.[0];
    if (!folder) { throw new Error("codetap: open a folder (a git repository) first"); }
    return folder.uri.toString();
  }

  private async startTask(initial = "", range?: vscode.Range): Promise<void> {
    const editor = vscode.window.activeTextEditor;
    const scope = range ?? (editor && !editor.selection.isEmpty ? editor.selection : undefined);
    const intent = await vscode.window.showInputBox({ title: "codetap: what should be done?",
      value: initial, prompt: scope ? "The task is scoped to the selection." : undefined,
      validateInput: (v) => (v.trim() ? null : "Describe the change.") });
    if (intent === undefined) { return; }
    const params = startParams(intent, { rootUri: this.rootUri(editor?.document),
      uri: editor?.document.uri.toString(), range: scope ? fromRange(scope) : undefined,
      model: readSettings(this.out).model });
    const info = this.state.taskUpdated(await this.request(P.TASK_START, params), P.TASK_START);
    void vscode.window.showInformationMessage(`codetap: task ${info.id} started`);
  }

  private async fixDiagnostic(): Promise<void> {
    const editor = vscode.window.activeTextEditor;
    if (!editor) { throw new Error("codetap: no active editor"); }
    const line = editor.selection.active.line;
    const diags = vscode.languages.getDiagnostics(editor.document.uri)
      .filter((d) => d.source !== "codetap" && d.range.start.line <= line && d.range.end.line >= line);
    const pick = diags.length <= 1 ? diags[0] : (await vscode.window.showQuickPick(
      diags.map((d) => ({ label: d.message, description: d.source, d })), { title: "Which problem?" }))?.d;
    if (!pick) { throw new Error("codetap: no diagnostic on this line"); }
    await this.startTask(diagnosticIntent(pick.message, pick.source, pick.range.start.line), pick.range);
  }

  private async pickTask(action: Action, given?: P.TaskInfo): Promise<P.TaskInfo | undefined> {
    if (given?.id) { return given; }
    const items = tasksFor(action, this.state.list()).map((t) => ({ ...taskRow(t), t }));
    if (items.length === 0) { throw new Error(`codetap: no task to ${action}`); }
    return (await vscode.window.showQuickPick(items, { title: `codetap: ${action} which task?` }))?.t;
  }

  private async ask(p: P.AskParams): Promise<P.AskResult | null> {
    const prompt = askPrompt(p);
    const answer = prompt.kind === "pick"
      ? await vscode.window.showQuickPick(prompt.items, { title: prompt.title, ignoreFocusOut: true })
      : await vscode.window.showInputBox({ title: prompt.title, ignoreFocusOut: true });
    // null: the user dismissed the prompt; the question stays pending on the server.
    return answer === undefined ? null : { answer };
  }

  private codeLenses(doc: vscode.TextDocument): vscode.CodeLens[] {
    const placed = this.state.hunksIn(doc.uri.toString());
    const byTask = new Map<string, P.SuggestionHunk[]>();
    placed.forEach((p) => byTask.set(p.taskId, [...(byTask.get(p.taskId) ?? []), p.hunk]));
    return [...byTask].flatMap(([taskId, hunks]) => lenses(taskId, hunks)).map((l) =>
      new vscode.CodeLens(new vscode.Range(l.line, 0, l.line, 0), {
        title: l.title,
        command: l.action === "accept" ? "codetap.acceptHunk"
          : l.action === "reject" ? "codetap.rejectHunk" : "",
        arguments: [l.taskId, l.hunkId],
      }));
  }

  private redraw(): void {
    for (const editor of vscode.window.visibleTextEditors) {
      const removed: vscode.DecorationOptions[] = [];
      const conflicts: vscode.DecorationOptions[] = [];
      const added: vscode.DecorationOptions[] = [];
      for (const { hunk, taskId } of this.state.hunksIn(editor.document.uri.toString())) {
        const d = decorate(hunk);
        const hover = new vscode.MarkdownString(`codetap task ${taskId} suggests:`);
        hover.appendCodeblock(hunk.new_text || "(delete)");
        if (d.removedLines) {
          (d.conflict ? conflicts : removed).push({ hoverMessage: hover,
            range: new vscode.Range(d.removedLines.first, 0, d.removedLines.last, 0) });
        }
        for (const a of addedPlacement(d)) {
          const end = editor.document.lineAt(Math.min(a.line, editor.document.lineCount - 1)).range.end;
          added.push({ range: new vscode.Range(end, end), hoverMessage: hover,
            renderOptions: { after: { contentText: a.text } } });
        }
      }
      editor.setDecorations(this.removed, removed);
      editor.setDecorations(this.conflict, conflicts);
      editor.setDecorations(this.added, added);
    }
    this.lensChanged.fire();
    this.state.uris().forEach((u) => { this.proposedChanged.fire(vscode.Uri.parse(u).with({ scheme: PROPOSED })); });
    const st = statusText(this.state.list());
    this.status.text = st.text;
    this.status.command = "codetap.tasks.focus";
    if (st.visible) { this.status.show(); } else { this.status.hide(); }
  }

  private async proposed(uri: vscode.Uri): Promise<string> {
    const file = uri.with({ scheme: "file", query: "" });
    const doc = await vscode.workspace.openTextDocument(file);
    const hunks = this.state.hunksIn(file.toString())
      .filter((h) => !uri.query || h.taskId === uri.query).map((h) => h.hunk);
    return applyHunks(doc.getText(), hunks);
  }

  private async showDiff(given?: P.TaskInfo): Promise<void> {
    const task = await this.pickTask("diff", given);
    if (!task) { return; }
    const files = this.state.filesOf(task.id);
    if (files.length === 0) { throw new Error(`codetap: task ${task.id} has no pending suggestions`); }
    const resources = files.map((f) => {
      const file = vscode.Uri.parse(f.uri);
      return [file, file, file.with({ scheme: PROPOSED, query: task.id })];
    });
    await vscode.commands.executeCommand("vscode.changes", `codetap task ${task.id}: ${task.intent}`, resources);
  }

  /** Stop the client; never throws, also when the server never started. */
  stop(): Promise<void> { return this.life.stop(); }
}

let host: Host | undefined;

/** Extension entry point (package.json "main"). */
export async function activate(context: vscode.ExtensionContext): Promise<void> {
  const out = vscode.window.createOutputChannel("codetap");
  context.subscriptions.push(out);
  host = new Host(context, out);
  host.register();
  await host.start();
}

/** Stops the language client; the daemon keeps running tasks. */
export async function deactivate(): Promise<void> {
  await host?.stop();
}
