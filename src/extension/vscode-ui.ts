// The Ui adapter (src/app/ui.ts) over the real VS Code API.
import * as vscode from "vscode";
import { SECTION } from "../app/config";
import type { PickItem, Ui } from "../app/ui";

export function vscodeUi(): Ui {
  return {
    info: async (m, ...a) => vscode.window.showInformationMessage(m, ...a),
    warn: async (m, ...a) => vscode.window.showWarningMessage(m, ...a),
    error: async (m, ...a) => vscode.window.showErrorMessage(m, ...a),
    pickMany: async <T extends PickItem>(items: readonly T[], o: { title: string; placeholder?: string }) =>
      vscode.window.showQuickPick([...items], {
        canPickMany: true,
        title: o.title,
        placeHolder: o.placeholder,
        ignoreFocusOut: false,
      }),
    pickOne: async <T extends PickItem>(items: readonly T[], o: { title: string; placeholder?: string }) =>
      vscode.window.showQuickPick([...items], { title: o.title, placeHolder: o.placeholder }),
    pickFolder: async (o) => {
      const picked = await vscode.window.showOpenDialog({
        canSelectFolders: true,
        canSelectFiles: false,
        canSelectMany: false,
        title: o.title,
        openLabel: "Use This Model",
        defaultUri: o.defaultPath ? vscode.Uri.file(o.defaultPath) : undefined,
      });
      return picked?.[0]?.fsPath;
    },
    pickFile: async (o) => {
      const picked = await vscode.window.showOpenDialog({
        canSelectFolders: false,
        canSelectFiles: true,
        canSelectMany: false,
        title: o.title,
        openLabel: "Use This Atlas",
        filters: { "Language atlas": ["json"] },
        defaultUri: o.defaultPath ? vscode.Uri.file(o.defaultPath) : undefined,
      });
      return picked?.[0]?.fsPath;
    },
    input: async (o) =>
      vscode.window.showInputBox({
        title: o.title,
        prompt: o.prompt,
        placeHolder: o.placeholder,
        value: o.value,
        validateInput: o.validate,
        ignoreFocusOut: true,
      }),
    withProgress: (title, task) =>
      Promise.resolve(
        vscode.window.withProgress(
          { location: vscode.ProgressLocation.Notification, title, cancellable: true },
          (progress, token) => {
            const abort = new AbortController();
            const sub = token.onCancellationRequested(() => abort.abort());
            return task(
              (message, increment) => progress.report({ message, increment }),
              abort.signal,
            ).finally(() => sub.dispose());
          },
        ),
      ),
    executeCommand: async (id, ...args) => vscode.commands.executeCommand(id, ...args),
    note: (message) => void vscode.window.setStatusBarMessage(message, 8000),
    workspaceFolders: () =>
      (vscode.workspace.workspaceFolders ?? [])
        .filter((f) => f.uri.scheme === "file")
        .map((f) => f.uri.fsPath),
    updateSetting: async (key, value, languageId) => {
      const config = vscode.workspace.getConfiguration(SECTION, languageId ? { languageId } : undefined);
      await config.update(key, value, vscode.ConfigurationTarget.Global, languageId ? true : undefined);
    },
  };
}
