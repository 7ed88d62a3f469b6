// What the routing view reads from and writes to the editor (VS Code API): the code to
// route (the selection, else the function around the cursor from the document symbols,
// else the block from indentation), the text before the cursor for the A/B view, and a
// token range selected from the view. Pure parts: src/heatmap/current-function.ts and
// span-range.ts.
import * as vscode from "vscode";
import type { CursorContext, EditorTarget, Found, SelectionEvent } from "../heatmap/controller";
import { MAX_PROMPT_CHARS } from "../heatmap/controller";
import { enclosingFunction, indentationBlock, type SymbolNode } from "../heatmap/current-function";
import type { SourceInfo } from "../heatmap-shared/messages";

/** Documents that are not code to inspect (the output panel, the debug console…). */
const NOT_CODE = new Set(["output", "debug", "vscode-settings", "walkThrough", "walkThroughSnippet"]);

export function isCodeDocument(doc: vscode.TextDocument): boolean {
  return !NOT_CODE.has(doc.uri.scheme);
}

/**
 * The editor the view works on: the active one, or the last active one while the view
 * itself has the focus (VS Code then has no active text editor).
 */
export class EditorTracker implements vscode.Disposable {
  private last: vscode.TextEditor | undefined;
  private readonly sub: vscode.Disposable;

  constructor() {
    const a = vscode.window.activeTextEditor;
    this.last = a && isCodeDocument(a.document) ? a : undefined;
    this.sub = vscode.window.onDidChangeActiveTextEditor((e) => {
      if (e && isCodeDocument(e.document)) this.last = e;
    });
  }

  editor(): vscode.TextEditor | undefined {
    const a = vscode.window.activeTextEditor;
    if (a && isCodeDocument(a.document)) return a;
    if (this.last && !this.last.document.isClosed) return this.last;
    // No code editor was active yet in this window (e.g. after a reload with the routing view
    // focused): the one on screen beside it.
    return vscode.window.visibleTextEditors.find((e) => isCodeDocument(e.document));
  }

  dispose(): void {
    this.sub.dispose();
  }
}

export function selectionEvent(
  editor: vscode.TextEditor,
  selection: vscode.Selection = editor.selection,
): SelectionEvent {
  const doc = editor.document;
  return { uri: doc.uri.toString(), start: doc.offsetAt(selection.start), end: doc.offsetAt(selection.end) };
}

function fileName(doc: vscode.TextDocument): string {
  const path = doc.uri.path;
  return path.slice(path.lastIndexOf("/") + 1) || doc.uri.toString();
}

function withTimeout<T>(p: Thenable<T>, ms: number): Promise<T | undefined> {
  return new Promise((resolve) => {
    const t = setTimeout(() => resolve(undefined), ms);
    Promise.resolve(p).then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      () => {
        clearTimeout(t);
        resolve(undefined);
      },
    );
  });
}

function toNodes(symbols: ReadonlyArray<vscode.DocumentSymbol | vscode.SymbolInformation>): SymbolNode[] {
  return symbols.map((s) => {
    const range = "location" in s ? s.location.range : s.range;
    const children = "children" in s ? toNodes(s.children) : [];
    return { name: s.name, kind: s.kind, startLine: range.start.line, endLine: range.end.line, children };
  });
}

/** The function around `line`: document symbols first, indentation when the language has none. */
export async function functionAround(
  doc: vscode.TextDocument,
  line: number,
  tabSize: number,
): Promise<{ startLine: number; endLine: number; kind: "function" | "block"; name?: string } | undefined> {
  const symbols = await withTimeout(
    vscode.commands.executeCommand<Array<vscode.DocumentSymbol | vscode.SymbolInformation> | undefined>(
      "vscode.executeDocumentSymbolProvider",
      doc.uri,
    ),
    2000,
  );
  if (symbols && symbols.length > 0) {
    const fn = enclosingFunction(toNodes(symbols), line);
    return fn ? { ...fn, kind: "function" } : undefined;
  }
  const lines = Array.from({ length: doc.lineCount }, (_, i) => doc.lineAt(i).text);
  const block = indentationBlock(lines, line, tabSize);
  return block ? { ...block, kind: "block" } : undefined;
}

export async function findTarget(editor: vscode.TextEditor | undefined): Promise<Found<EditorTarget>> {
  if (!editor)
    return {
      ok: false,
      reason:
        "Open a file and select some code (or put the cursor inside a function), " +
        "then run Monet Lens: Inspect Selection.",
    };
  const doc = editor.document;
  const sel = editor.selection;
  let range: vscode.Range;
  let kind: SourceInfo["kind"] = "selection";
  let name: string | undefined;
  if (!sel.isEmpty) range = new vscode.Range(sel.start, sel.end);
  else {
    const tabSize = typeof editor.options.tabSize === "number" ? editor.options.tabSize : 4;
    const fn = await functionAround(doc, sel.active.line, tabSize);
    if (!fn)
      return {
        ok: false,
        reason:
          `Nothing is selected and line ${sel.active.line + 1} of ${fileName(doc)} is not ` +
          `inside a function: select the code to inspect.`,
      };
    range = new vscode.Range(fn.startLine, 0, fn.endLine, doc.lineAt(fn.endLine).text.length);
    kind = fn.kind;
    name = fn.name;
  }
  const base = doc.offsetAt(range.start);
  const cursor = doc.offsetAt(sel.active) - base;
  const endLine =
    range.end.character === 0 && range.end.line > range.start.line ? range.end.line : range.end.line + 1;
  return {
    ok: true,
    value: {
      uri: doc.uri.toString(),
      version: doc.version,
      // getText keeps the document's line endings, so spans + base are document offsets.
      text: doc.getText(range),
      base,
      cursor: Math.max(0, cursor),
      source: {
        file: fileName(doc),
        startLine: range.start.line + 1,
        endLine,
        kind,
        ...(name ? { name } : {}),
      },
    },
  };
}

export function cursorContext(editor: vscode.TextEditor | undefined): Found<CursorContext> {
  if (!editor)
    return { ok: false, reason: "Open a file and put the cursor where the model should continue." };
  const doc = editor.document;
  const pos = editor.selection.active;
  const offset = doc.offsetAt(pos);
  const start = doc.positionAt(Math.max(0, offset - MAX_PROMPT_CHARS - 1_000));
  return {
    ok: true,
    value: {
      uri: doc.uri.toString(),
      version: doc.version,
      prompt: doc.getText(new vscode.Range(start, pos)),
      source: { file: fileName(doc), startLine: pos.line + 1, endLine: pos.line + 1, kind: "cursor" },
    },
  };
}

/**
 * Selects [start, end) of the document `uri` (if still at `version`) in its editor and
 * reveals it, without taking the focus: the keyboard stays in the routing view, so the next
 * key (Tab, Enter) moves in the view instead of typing over the selected code.
 */
export async function selectInEditor(
  tracker: EditorTracker,
  uri: string,
  version: number,
  start: number,
  end: number,
): Promise<"ok" | "changed" | "closed"> {
  const doc = vscode.workspace.textDocuments.find((d) => d.uri.toString() === uri);
  if (!doc || doc.isClosed) return "closed";
  if (doc.version !== version) return "changed";
  const range = new vscode.Range(doc.positionAt(start), doc.positionAt(end));
  const shown = vscode.window.visibleTextEditors.find((e) => e.document === doc);
  const last = tracker.editor();
  const viewColumn =
    shown?.viewColumn ?? (last?.document === doc ? last.viewColumn : undefined) ?? vscode.ViewColumn.One;
  const editor = await vscode.window.showTextDocument(doc, {
    viewColumn,
    preserveFocus: true,
    selection: range,
  });
  editor.revealRange(range, vscode.TextEditorRevealType.InCenterIfOutsideViewport);
  return "ok";
}
