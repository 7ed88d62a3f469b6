// The bundled extension (dist/extension.js, built by `npm run build`) activated against a
// stub of the few VS Code APIs it touches — not the real editor (that is the end-to-end
// suite's job): every contributed command is registered, the inline provider answers
// through the bundled engine process, and deactivation ends that process.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import Module from "node:module";
import { join, resolve } from "node:path";
import { TEST_CACHE } from "../helpers/fixtures";

const BUNDLE = resolve("dist", "extension.js");
const disposable = () => ({ dispose: () => undefined });

class Position {
  constructor(
    readonly line: number,
    readonly character: number,
  ) {}
  with(line = this.line, character = this.character): Position {
    return new Position(line, character);
  }
}
class Range {
  constructor(
    readonly start: Position,
    readonly end: Position,
  ) {}
}

interface Provider {
  provideInlineCompletionItems(
    doc: unknown,
    pos: Position,
    ctx: unknown,
    token: unknown,
  ): Promise<Array<{ insertText: string }> | undefined>;
}

function stubVscode(settings: Record<string, unknown>) {
  const commands = new Map<string, (...args: unknown[]) => Promise<unknown>>();
  const executed: Array<{ id: string; args: unknown[] }> = [];
  const providers: Provider[] = [];
  const serializers: string[] = [];
  const statusTexts: string[] = [];
  const statusItem: Record<string, unknown> = { show: () => undefined, dispose: () => undefined };
  const event = () => disposable;
  const api = {
    Position,
    Range,
    InlineCompletionItem: class {
      constructor(
        readonly insertText: string,
        readonly range: Range,
      ) {}
    },
    InlineCompletionTriggerKind: { Invoke: 0, Automatic: 1 },
    ThemeColor: class {
      constructor(readonly id: string) {}
    },
    MarkdownString: class {
      constructor(readonly value: string) {}
    },
    StatusBarAlignment: { Left: 1, Right: 2 },
    ProgressLocation: { Notification: 15 },
    ConfigurationTarget: { Global: 1 },
    window: {
      createOutputChannel: () => ({
        debug: () => undefined,
        info: () => undefined,
        warn: () => undefined,
        error: () => undefined,
        show: () => undefined,
        dispose: () => undefined,
      }),
      createStatusBarItem: () =>
        new Proxy(statusItem, {
          set(t, k, v) {
            t[k as string] = v;
            if (k === "text") statusTexts.push(String(v));
            return true;
          },
        }),
      showInformationMessage: async () => undefined,
      showWarningMessage: async () => undefined,
      showErrorMessage: async () => undefined,
      setStatusBarMessage: disposable,
      activeTextEditor: undefined,
      visibleTextEditors: [],
      onDidChangeActiveTextEditor: event(),
      onDidChangeTextEditorSelection: event(),
      registerWebviewPanelSerializer: (viewType: string) => {
        serializers.push(viewType);
        return disposable();
      },
    },
    workspace: {
      getConfiguration: () => ({ get: (k: string) => settings[k], update: async () => undefined }),
      onDidChangeConfiguration: event(),
      onDidOpenTextDocument: event(),
      onDidChangeTextDocument: event(),
      onDidCloseTextDocument: event(),
      workspaceFolders: [],
    },
    languages: {
      registerInlineCompletionItemProvider: (_selector: unknown, p: Provider) => {
        providers.push(p);
        return disposable();
      },
    },
    commands: {
      registerCommand: (id: string, fn: (...args: unknown[]) => Promise<unknown>) => {
        commands.set(id, fn);
        return disposable();
      },
      executeCommand: async (id: string, ...args: unknown[]) => {
        executed.push({ id, args });
        return commands.get(id)?.(...args);
      },
    },
  };
  return { api, commands, providers, statusTexts, serializers, executed };
}

function document(text: string) {
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
    uri: { toString: () => "file:///bundle-test.py" },
    languageId: "python",
    offsetAt,
    positionAt,
    getText: (r: Range) => text.slice(offsetAt(r.start), offsetAt(r.end)),
  };
}

describe("bundled extension (stubbed VS Code API)", {
  skip: existsSync(BUNDLE) ? false : "dist/extension.js is not built (npm run build)",
}, () => {
  it("activates, registers every contributed command, completes through the bundled engine, and deactivates cleanly", async () => {
    const pkg = JSON.parse(readFileSync("package.json", "utf8")) as {
      contributes: {
        commands: Array<{ command: string }>;
        configuration: { properties: Record<string, unknown> };
      };
    };
    const stub = stubVscode({ executionProvider: "cpu", debounceMs: 0, maxTokens: 16 });
    const storage = mkdtempSync(join(TEST_CACHE, "..", "lens-bundle-"));
    const moduleInternals = Module as unknown as { _load: (request: string, ...rest: unknown[]) => unknown };
    const load = moduleInternals._load;
    moduleInternals._load = function (request: string, ...rest: unknown[]) {
      return request === "vscode" ? stub.api : load.call(this, request, ...rest);
    };
    const previousCache = process.env.MONET_LENS_CACHE;
    process.env.MONET_LENS_CACHE = TEST_CACHE;
    const subscriptions: Array<{ dispose(): unknown }> = [];
    let ext: { activate(c: unknown): void; deactivate(): Promise<void> } | undefined;
    try {
      ext = require(BUNDLE) as typeof ext;
      const state = new Map<string, unknown>();
      const global = new Map<string, unknown>();
      const memento = (m: Map<string, unknown>) => ({
        get: (k: string) => m.get(k),
        update: async (k: string, v: unknown) => void m.set(k, v),
        keys: () => [...m.keys()],
      });
      ext!.activate({
        subscriptions,
        workspaceState: memento(state),
        globalState: memento(global),
        globalStorageUri: { fsPath: storage },
        extensionUri: { fsPath: resolve(".") },
        extension: { id: "monet-lens.monet-lens", packageJSON: { version: "test" } },
      });
      // The first activation opens the getting-started walkthrough (once: the flag is set).
      await new Promise((r) => setImmediate(r));
      assert.deepEqual(
        stub.executed.filter((e) => e.id === "workbench.action.openWalkthrough"),
        [{ id: "workbench.action.openWalkthrough", args: ["monet-lens.monet-lens#gettingStarted", false] }],
      );
      assert.equal(global.get("monetLens.walkthroughShown"), true);
      for (const c of pkg.contributes.commands)
        assert.ok(stub.commands.has(c.command), `${c.command} is registered`);
      for (const id of stub.commands.keys())
        assert.ok(
          pkg.contributes.commands.some((c) => c.command === id),
          `${id} is contributed in package.json`,
        );
      assert.ok(
        Object.keys(pkg.contributes.configuration.properties).every((k) => k.startsWith("monetLens.")),
      );
      assert.equal(stub.providers.length, 1);
      // The heatmap panel comes back after a reload: its serializer, and the activation event VS Code needs
      // for it.
      assert.deepEqual(stub.serializers, ["monetLens.heatmap"]);
      assert.ok(
        (pkg as unknown as { activationEvents: string[] }).activationEvents.includes(
          "onWebviewPanel:monetLens.heatmap",
        ),
      );
      const text = "def read_lines(path):\n    with open(path) as f:\n        ";
      const doc = document(text);
      const token = { isCancellationRequested: false, onCancellationRequested: disposable };
      const items = await stub.providers[0]!.provideInlineCompletionItems(
        doc,
        doc.positionAt(text.length),
        { triggerKind: 1 },
        token,
      );
      assert.ok(items && items[0]!.insertText.length > 0, "a suggestion from the bundled engine process");
      assert.match(stub.statusTexts.at(-1)!, /tiny-codemonet · CPU · \d+ ms/);
    } finally {
      for (const d of subscriptions) d.dispose();
      await ext?.deactivate();
      moduleInternals._load = load;
      if (previousCache === undefined) delete process.env.MONET_LENS_CACHE;
      else process.env.MONET_LENS_CACHE = previousCache;
      rmSync(storage, { recursive: true, force: true });
    }
  });
});
