// Monet Lens in VS Code: wires the context (src/app/ctx.ts) to the editor — the inline
// completion provider, the commands, the status bar, settings, the output channel and the
// routing heatmap. Everything else lives in testable modules.
import * as vscode from "vscode";
import { commandTable, registerCommands } from "./commands";
import { registerHeatmap } from "./heatmap-view";
import { commandId } from "../app/command-ids";
import { SECTION, type MonetLensConfig } from "../app/config";
import { Ctx } from "../app/ctx";
import { expertCardDeps } from "../app/expert-cards";
import { openWalkthroughOnce, WALKTHROUGH_ID } from "../app/first-run";
import { heatmapDeps } from "../app/heatmap-deps";
import { MonetInlineProvider } from "./inline-provider";
import { StatusBar, type StatusSeverity } from "../app/status";
import { vscodeUi } from "./vscode-ui";

let ctx: Ctx | undefined;

export function activate(context: vscode.ExtensionContext): void {
  const channel = vscode.window.createOutputChannel("Monet Lens", { log: true });
  const item = vscode.window.createStatusBarItem("monetLens.status", vscode.StatusBarAlignment.Right, 100);
  item.name = "Monet Lens";
  item.command = commandId("showMenu");
  const background: Record<StatusSeverity, vscode.ThemeColor | undefined> = {
    normal: undefined,
    warning: new vscode.ThemeColor("statusBarItem.warningBackground"),
    error: new vscode.ThemeColor("statusBarItem.errorBackground"),
  };
  const status = new StatusBar(
    item,
    (it, r) => {
      const real = it as vscode.StatusBarItem;
      real.text = r.text;
      const tooltip = new vscode.MarkdownString(r.tooltip, true);
      real.tooltip = tooltip;
      real.backgroundColor = background[r.severity];
    },
    { engine: { kind: "stopped" }, busy: false, modelName: "", masked: [] },
  );

  const ui = vscodeUi();
  const c = new Ctx({
    ui,
    log: {
      debug: (l) => channel.debug(l),
      info: (l) => channel.info(l),
      warn: (l) => channel.warn(l),
      error: (l) => channel.error(l),
    },
    settings: () => {
      const config = vscode.workspace.getConfiguration(SECTION);
      return (key: keyof MonetLensConfig) => config.get(key);
    },
    enableFor: (languageId) => vscode.workspace.getConfiguration(SECTION, { languageId }).get("enable"),
    workspaceState: context.workspaceState,
    storageDir: context.globalStorageUri.fsPath,
    status,
  });
  ctx = c;
  c.log.info(
    `Monet Lens ${String(context.extension.packageJSON.version ?? "")} activated; model: ` +
      `${c.config.modelPath || "embedded demo model"}, execution provider: ${c.config.executionProvider}, dtype: ${c.config.dtype}`,
  );
  c.setActiveLanguage(vscode.window.activeTextEditor?.document.languageId);

  const provider = new MonetInlineProvider({
    controller: c.controller,
    enabledFor: (languageId) => c.enabledFor(languageId),
    maxBeforeChars: () => Math.max(4096, c.config.contextTokens * 8),
    tabSize: (document) => {
      const editor = vscode.window.visibleTextEditors.find((e) => e.document === document);
      const size = editor?.options.tabSize;
      return typeof size === "number" ? size : 4;
    },
    range: (start, end) => new vscode.Range(start, end),
    item: (text, range) => new vscode.InlineCompletionItem(text, range),
    invokeKind: vscode.InlineCompletionTriggerKind.Invoke,
    onManualEmpty: () =>
      vscode.window.setStatusBarMessage(
        `Monet Lens: no suggestion here${c.lastSkipReason ? ` (${c.lastSkipReason})` : ""}`,
        5000,
      ),
  });

  context.subscriptions.push(
    channel,
    vscode.languages.registerInlineCompletionItemProvider(
      ["file", "untitled", "vscode-remote", "vscode-vfs", "vscode-notebook-cell"].map((scheme) => ({
        scheme,
      })),
      provider,
    ),
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration(SECTION))
        void c.configChanged((key) => e.affectsConfiguration(`${SECTION}.${key}`));
    }),
    vscode.window.onDidChangeActiveTextEditor((editor) => c.setActiveLanguage(editor?.document.languageId)),
    vscode.workspace.onDidOpenTextDocument((doc) => {
      // language mode changed
      if (doc === vscode.window.activeTextEditor?.document) c.setActiveLanguage(doc.languageId);
    }),
    c.masks.onDidChange(() => {
      // A suggestion shown under the old masks is gone; the next one uses the new masks.
      void vscode.commands.executeCommand("editor.action.inlineSuggest.hide");
    }),
  );

  const experts = expertCardDeps(c);
  context.subscriptions.push({ dispose: () => experts.dispose() });
  const heatmap = registerHeatmap(context, { ...heatmapDeps(c), experts });
  context.subscriptions.push(
    ...registerCommands(
      commandTable(c, { showLog: () => channel.show(), inspectSelection: () => heatmap.inspectSelection() }),
      c,
    ),
  );

  void openWalkthroughOnce(context.globalState, () =>
    Promise.resolve(
      vscode.commands.executeCommand(
        "workbench.action.openWalkthrough",
        `${context.extension.id}#${WALKTHROUGH_ID}`,
        false,
      ),
    ),
  ).catch((e: unknown) => c.log.warn(`the getting-started walkthrough did not open: ${String(e)}`));
}

export async function deactivate(): Promise<void> {
  const c = ctx;
  ctx = undefined;
  await c?.dispose();
}
