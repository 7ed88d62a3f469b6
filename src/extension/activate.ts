// Monet Lens in VS Code: wires the context (src/app/ctx.ts) to the editor — the inline
// completion provider, the commands, the status bar, settings, the output channel and the
// routing heatmap. Everything else lives in testable modules.
import * as vscode from "vscode";
import { registerHeatmap } from "./heatmap-view";
import {
  COMMANDS,
  buildWorkspaceAtlas,
  clearMasks,
  maskLanguages,
  restartEngine,
  selectModelFolder,
  showMenu,
  toggleEnabled,
  toggleLanguage,
  triggerCompletion,
  unloadModel,
} from "../app/commands";
import { SECTION, type MonetLensConfig } from "../app/config";
import { Ctx } from "../app/ctx";
import { heatmapDeps } from "../app/heatmap-deps";
import { MonetInlineProvider } from "./inline-provider";
import { StatusBar, type StatusSeverity } from "../app/status";
import { vscodeUi } from "./vscode-ui";

let ctx: Ctx | undefined;

export function activate(context: vscode.ExtensionContext): void {
  const channel = vscode.window.createOutputChannel("Monet Lens", { log: true });
  const item = vscode.window.createStatusBarItem("monetLens.status", vscode.StatusBarAlignment.Right, 100);
  item.name = "Monet Lens";
  item.command = COMMANDS.showMenu;
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
    `Monet Lens ${String(context.extension.packageJSON.version ?? "")} activated; model: ${c.config.modelPath || "embedded demo model"}, execution provider: ${c.config.executionProvider}`,
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

  const command = (id: string, run: () => Promise<unknown>) =>
    vscode.commands.registerCommand(id, () =>
      run().catch((e: unknown) => {
        c.log.error(`${id} failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
        void vscode.window.showErrorMessage(`Monet Lens: ${e instanceof Error ? e.message : String(e)}`);
      }),
    );

  context.subscriptions.push(
    channel,
    vscode.languages.registerInlineCompletionItemProvider(
      ["file", "untitled", "vscode-remote", "vscode-vfs", "vscode-notebook-cell"].map((scheme) => ({
        scheme,
      })),
      provider,
    ),
    command(COMMANDS.trigger, () => triggerCompletion(c)),
    command(COMMANDS.maskLanguages, () => maskLanguages(c)),
    command(COMMANDS.clearMasks, () => clearMasks(c)),
    command(COMMANDS.selectModelFolder, () => selectModelFolder(c)),
    command(COMMANDS.buildAtlas, () => buildWorkspaceAtlas(c)),
    command(COMMANDS.toggleLanguage, () => toggleLanguage(c)),
    command(COMMANDS.toggleEnabled, () => toggleEnabled(c)),
    command(COMMANDS.restartEngine, () => restartEngine(c)),
    command(COMMANDS.unloadModel, () => unloadModel(c)),
    command(COMMANDS.showLog, async () => channel.show()),
    command(COMMANDS.showMenu, () => showMenu(c)),
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration(SECTION))
        void c.configChanged((key) => e.affectsConfiguration(`${SECTION}.${key}`));
    }),
    vscode.window.onDidChangeActiveTextEditor((editor) => c.setActiveLanguage(editor?.document.languageId)),
    vscode.workspace.onDidOpenTextDocument((doc) => {
      if (doc === vscode.window.activeTextEditor?.document) c.setActiveLanguage(doc.languageId); // language mode changed
    }),
    c.masks.onDidChange(() => {
      // A suggestion shown under the old masks is gone; the next one uses the new masks.
      void vscode.commands.executeCommand("editor.action.inlineSuggest.hide");
    }),
  );

  registerHeatmap(context, heatmapDeps(c));
}

export async function deactivate(): Promise<void> {
  const c = ctx;
  ctx = undefined;
  await c?.dispose();
}
