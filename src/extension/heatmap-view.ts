// The routing view in VS Code: `Monet Lens: Inspect Selection` (monetLens.inspectSelection,
// registered with the other commands) opens it beside the editor for the selection (or the
// function around the cursor), or brings it back and recomputes; a panel restored after a
// reload comes back through the serializer; the view follows the editor's selection and the masks.
import * as vscode from "vscode";
import type { HeatmapDeps } from "../heatmap/deps";
import { EditorTracker, isCodeDocument, selectionEvent } from "./editor-target";
import { HeatmapPanel, VIEW_TYPE } from "./heatmap-panel";

export function registerHeatmap(
  context: vscode.ExtensionContext,
  deps: HeatmapDeps,
): { inspectSelection(): Promise<void> } {
  const tracker = new EditorTracker();
  let panel: HeatmapPanel | undefined;
  // Typing moves the cursor too: such moves are followed after a longer pause.
  let lastEdit = { uri: "", at: 0 };
  const editing = (doc: vscode.TextDocument) =>
    lastEdit.uri === doc.uri.toString() && Date.now() - lastEdit.at < 200;
  /** The one routing view: a new panel, or the one VS Code restored after a reload. */
  const open = (restored?: vscode.WebviewPanel) => {
    const p = new HeatmapPanel(context, deps, tracker, restored);
    p.onDispose(() => {
      if (panel === p) panel = undefined;
    });
    panel = p;
  };
  context.subscriptions.push(
    tracker,
    // After a window reload VS Code brings the panel back (activation event onWebviewPanel):
    // it shows the active editor's selection again, computed afresh (nothing is stored).
    vscode.window.registerWebviewPanelSerializer(VIEW_TYPE, {
      deserializeWebviewPanel: async (restored: vscode.WebviewPanel) => {
        if (panel) {
          restored.dispose(); // one routing view at a time
          return;
        }
        open(restored);
      },
    }),
    deps.masks.onDidChange(() => panel?.controller.masksChanged()),
    vscode.workspace.onDidChangeTextDocument((e) => {
      if (e.contentChanges.length > 0) lastEdit = { uri: e.document.uri.toString(), at: Date.now() };
    }),
    vscode.window.onDidChangeTextEditorSelection((e) => {
      const doc = e.textEditor.document;
      if (panel && isCodeDocument(doc))
        panel.controller.selectionChanged({
          ...selectionEvent(e.textEditor, e.selections[0]),
          editing: editing(doc),
        });
    }),
    vscode.window.onDidChangeActiveTextEditor((e) => {
      if (panel && e && isCodeDocument(e.document)) panel.controller.selectionChanged(selectionEvent(e));
    }),
    { dispose: () => panel?.dispose() },
  );
  return {
    async inspectSelection() {
      if (panel) {
        panel.reveal();
        await panel.controller.computeRoute(true);
        return;
      }
      open();
    },
  };
}
