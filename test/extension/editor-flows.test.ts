// The routing view's editor flows over a fake VS Code API (the `vscode` module replaced):
// a row reveals and selects its tokens without taking the focus; the target carries the
// cursor (for the window around it); an export goes through the save dialog and is written
// atomically, or nothing happens when the dialog is cancelled.
import { describe, it, after } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import Module from "node:module";
import { join } from "node:path";
import { TEST_CACHE } from "../helpers/fixtures";

class Position {
  constructor(
    readonly line: number,
    readonly character: number,
  ) {}
}
class Range {
  readonly start: Position;
  readonly end: Position;
  constructor(a: Position | number, b: Position | number, c?: number, d?: number) {
    this.start = typeof a === "number" ? new Position(a, b as number) : a;
    this.end = typeof a === "number" ? new Position(c!, d!) : (b as Position);
  }
}
class Selection extends Range {
  constructor(
    anchor: Position,
    readonly active: Position,
  ) {
    super(anchor, active);
  }
  get isEmpty(): boolean {
    return this.start.line === this.end.line && this.start.character === this.end.character;
  }
}

function fakeDocument(text: string, uri = "file:///w/a.py", version = 3) {
  const offsetAt = (p: Position) =>
    p.character +
    text
      .split("\n")
      .slice(0, p.line)
      .reduce((n, l) => n + l.length + 1, 0);
  const positionAt = (o: number) => {
    const lines = text.slice(0, o).split("\n");
    return new Position(lines.length - 1, lines.at(-1)!.length);
  };
  return {
    uri: { toString: () => uri, path: "/w/a.py", scheme: "file" },
    version,
    isClosed: false,
    lineCount: text.split("\n").length,
    lineAt: (i: number) => ({ text: text.split("\n")[i]! }),
    offsetAt,
    positionAt,
    getText: (r: Range) => text.slice(offsetAt(r.start), offsetAt(r.end)),
  };
}

const calls: { show: unknown[]; reveal: unknown[]; save: unknown[] } = { show: [], reveal: [], save: [] };
const tmp = mkdtempSync(join(TEST_CACHE, "..", "lens-editor-flows-"));
let saveAnswer: { fsPath: string; scheme: string } | undefined;
const doc = fakeDocument("def f(x):\n    return x + 1\n");
const editor = {
  document: doc,
  viewColumn: 1,
  selection: new Selection(new Position(0, 4), new Position(1, 8)),
  options: { tabSize: 4 },
  revealRange: (r: Range, how: unknown) => void calls.reveal.push([r, how]),
};
const uriOf = (fsPath: string) => ({ fsPath, scheme: "file", toString: () => `file://${fsPath}` });
const stub = {
  Range,
  Position,
  Selection,
  ViewColumn: { One: 1, Beside: -2 },
  TextEditorRevealType: { InCenterIfOutsideViewport: 2 },
  Uri: {
    file: uriOf,
    joinPath: (u: { fsPath: string }, ...parts: string[]) => uriOf(join(u.fsPath, ...parts)),
  },
  window: {
    activeTextEditor: editor,
    visibleTextEditors: [editor],
    onDidChangeActiveTextEditor: () => ({ dispose: () => undefined }),
    showTextDocument: async (d: unknown, options: unknown) => {
      calls.show.push({ d, options });
      return editor;
    },
    showSaveDialog: async (options: unknown) => {
      calls.save.push(options);
      return saveAnswer;
    },
  },
  workspace: {
    textDocuments: [doc],
    workspaceFolders: [{ uri: uriOf(tmp) }],
    fs: { writeFile: async () => assert.fail("a local file is written atomically, not through fs") },
  },
  commands: { executeCommand: async () => undefined },
};

const internals = Module as unknown as { _load: (request: string, ...rest: unknown[]) => unknown };
const load = internals._load;
internals._load = function (request: string, ...rest: unknown[]) {
  return request === "vscode" ? stub : load.call(this, request, ...rest);
};
const targets =
  require("../../src/extension/editor-target") as typeof import("../../src/extension/editor-target");
const panel =
  require("../../src/extension/heatmap-panel") as typeof import("../../src/extension/heatmap-panel");

describe("routing view editor flows (fake VS Code)", () => {
  after(() => {
    internals._load = load;
    rmSync(tmp, { recursive: true, force: true });
  });

  it("a row reveals and selects its tokens without taking the focus (Tab then moves in the view, not in the code)", async () => {
    const tracker = new targets.EditorTracker();
    assert.equal(await targets.selectInEditor(tracker, "file:///w/a.py", 3, 14, 20), "ok");
    const shown = calls.show.at(-1) as { options: { preserveFocus: boolean; selection: Range } };
    assert.equal(shown.options.preserveFocus, true);
    assert.deepEqual(shown.options.selection, new Range(new Position(1, 4), new Position(1, 10)));
    assert.equal(calls.reveal.length, 1, "revealed");
    assert.equal(await targets.selectInEditor(tracker, "file:///w/a.py", 2, 14, 20), "changed");
    assert.equal(await targets.selectInEditor(tracker, "file:///w/other.py", 3, 0, 1), "closed");
    tracker.dispose();
  });

  it("the routed target knows where the cursor is (for the window around it)", async () => {
    const found = await targets.findTarget(editor as never);
    assert.ok(found.ok);
    assert.equal(found.value.text, "f(x):\n    retu");
    assert.equal(found.value.base, 4);
    assert.equal(found.value.cursor, found.value.text.length, "the selection's active end");
  });

  it("an export asks where, writes atomically, and does nothing when cancelled", async () => {
    saveAnswer = undefined;
    assert.equal(await panel.saveExport("a.py-routing.csv", "token\r\n"), undefined);
    const options = calls.save.at(-1) as {
      filters: Record<string, string[]>;
      defaultUri: { fsPath: string };
    };
    assert.deepEqual(options.filters, { "Routing data (CSV)": ["csv"] });
    assert.equal(options.defaultUri.fsPath, join(tmp, "a.py-routing.csv"));
    assert.deepEqual(readdirSync(tmp), [], "cancelled: nothing written");
    saveAnswer = uriOf(join(tmp, "out", "view.png"));
    const png = Uint8Array.from([0x89, 0x50, 0x4e, 0x47]);
    assert.equal(await panel.saveExport("a.py-routing.png", png), join(tmp, "out", "view.png"));
    assert.deepEqual([...readFileSync(join(tmp, "out", "view.png"))], [...png]);
    assert.deepEqual(readdirSync(join(tmp, "out")), ["view.png"], "no temporary file left");
    assert.ok(existsSync(join(tmp, "out", "view.png")));
  });
});
