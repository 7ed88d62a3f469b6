// The routing view's webview panel: one at a time, beside the editor, its page under a
// nonce CSP (src/heatmap/html.ts), its messages handed to the controller, which is given VS Code's API
// through a ControllerHost.
import * as vscode from "vscode";
import { randomBytes } from "node:crypto";
import { extname } from "node:path";
import { commandId } from "../app/command-ids";
import { writeFileAtomic } from "../files/atomic-write";
import { HeatmapController, type ControllerHost } from "../heatmap/controller";
import type { HeatmapDeps } from "../heatmap/deps";
import { cursorContext, findTarget, selectInEditor, type EditorTracker } from "./editor-target";
import { heatmapHtml } from "../heatmap/html";

export const VIEW_TYPE = "monetLens.heatmap";
const PINNED_KEY = "monetLens.heatmap.pinned";

export function newNonce(): string {
  return randomBytes(24).toString("base64url");
}

const EXPORT_FILTERS: Readonly<Record<string, Record<string, string[]>>> = {
  ".svg": { "SVG image": ["svg"] },
  ".png": { "PNG image": ["png"] },
  ".json": { "Routing data (JSON)": ["json"] },
  ".csv": { "Routing data (CSV)": ["csv"] },
};
let lastExportDir: vscode.Uri | undefined;

/** A save dialog for an export, then the file written atomically (a local file) or through VS Code's file system. */
export async function saveExport(name: string, data: string | Uint8Array): Promise<string | undefined> {
  const dir = lastExportDir ?? vscode.workspace.workspaceFolders?.[0]?.uri;
  const uri = await vscode.window.showSaveDialog({
    title: "Export the Routing Heatmap",
    defaultUri: dir ? vscode.Uri.joinPath(dir, name) : undefined,
    filters: EXPORT_FILTERS[extname(name)] ?? {},
  });
  if (!uri) return undefined;
  lastExportDir = vscode.Uri.joinPath(uri, "..");
  if (uri.scheme === "file") writeFileAtomic(uri.fsPath, data);
  else await vscode.workspace.fs.writeFile(uri, typeof data === "string" ? Buffer.from(data, "utf8") : data);
  return uri.scheme === "file" ? uri.fsPath : uri.toString();
}

export class HeatmapPanel implements vscode.Disposable {
  readonly controller: HeatmapController;
  private readonly panel: vscode.WebviewPanel;
  private readonly subs: vscode.Disposable[] = [];
  private disposed = false;
  private readonly onDisposeHandlers: Array<() => void> = [];

  /** `restored`: a panel VS Code brings back after a reload (registered serializer); else a new one. */
  constructor(
    context: vscode.ExtensionContext,
    deps: HeatmapDeps,
    tracker: EditorTracker,
    restored?: vscode.WebviewPanel,
  ) {
    const media = vscode.Uri.joinPath(context.extensionUri, "media");
    const options = { enableScripts: true, localResourceRoots: [media] };
    this.panel =
      restored ??
      vscode.window.createWebviewPanel(
        VIEW_TYPE,
        "Monet Lens: Routing Heatmap",
        { viewColumn: vscode.ViewColumn.Beside, preserveFocus: true },
        { ...options, retainContextWhenHidden: false },
      );
    const webview = this.panel.webview;
    if (restored) webview.options = options;
    const host: ControllerHost = {
      post: (message) => void webview.postMessage(message),
      findTarget: () => findTarget(tracker.editor()),
      cursorContext: () => cursorContext(tracker.editor()),
      select: (uri, version, start, end) => selectInEditor(tracker, uri, version, start, end),
      visible: () => this.panel.visible,
      saveFile: (name, data) => saveExport(name, data),
      runCommand: async (action) => {
        await vscode.commands.executeCommand(commandId(action));
      },
    };
    this.controller = new HeatmapController(host, deps, {
      pinned: context.globalState.get<boolean>(PINNED_KEY, true),
      onPinnedChange: (pinned) => void context.globalState.update(PINNED_KEY, pinned),
    });
    this.subs.push(
      webview.onDidReceiveMessage((m: unknown) => {
        this.controller
          .receive(m)
          .catch((e: unknown) => deps.log(`heatmap: ${e instanceof Error ? e.message : String(e)}`));
      }),
      this.panel.onDidChangeViewState((e) => this.controller.visibilityChanged(e.webviewPanel.visible)),
      this.panel.onDidDispose(() => this.dispose()),
    );
    webview.html = heatmapHtml({
      nonce: newNonce(),
      scriptUri: webview.asWebviewUri(vscode.Uri.joinPath(media, "heatmap.js")).toString(),
      styleUri: webview.asWebviewUri(vscode.Uri.joinPath(media, "heatmap.css")).toString(),
      cspSource: webview.cspSource,
    });
  }

  reveal(): void {
    this.panel.reveal(undefined, true);
  }

  onDispose(f: () => void): void {
    this.onDisposeHandlers.push(f);
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.controller.dispose();
    for (const s of this.subs) s.dispose();
    this.panel.dispose();
    for (const f of this.onDisposeHandlers) f();
  }
}
