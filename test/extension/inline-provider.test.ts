// The inline completion provider over a fake document: the request it builds, the language
// switch, manual triggers, cancellation, the item it returns.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type * as vscode from "vscode";
import type { CompletionRequest } from "../../src/completion/request";
import type { Suggestion } from "../../src/completion/controller";
import { MonetInlineProvider, requestAt } from "../../src/extension/inline-provider";
import { FakePosition, FakeRange, fakeDocument, fakeToken } from "../helpers/fakes";

const INVOKE = 0 as vscode.InlineCompletionTriggerKind;
const AUTOMATIC = 1 as vscode.InlineCompletionTriggerKind;
const pos = (line: number, ch: number) => new FakePosition(line, ch) as unknown as vscode.Position;
const deps = {
  maxBeforeChars: () => 20,
  tabSize: () => 2,
  range: (a: vscode.Position, b: vscode.Position) =>
    new FakeRange(a as unknown as FakePosition, b as unknown as FakePosition) as unknown as vscode.Range,
};

describe("inline completion provider", () => {
  it("the request: text before from a line start within the bound, text after, tab size", () => {
    const doc = fakeDocument("line one\nline two\nline three\nx = f(\n)\n");
    const req = requestAt(doc, pos(3, 6), deps, false);
    // 20 characters before the cursor fall inside "line two": the text starts at the next line.
    assert.equal(req.textBefore, "line three\nx = f(");
    assert.equal(req.beforeStart, "line one\nline two\n".length);
    assert.equal(req.textAfter, "\n)\n");
    assert.equal(req.tabSize, 2);
    assert.equal(req.docKey, "file:///work/example.py");
    assert.equal(req.languageId, "python");
  });

  it("a small document is read whole", () => {
    const doc = fakeDocument("a\nb");
    assert.equal(
      requestAt(doc, pos(1, 1), { ...deps, maxBeforeChars: () => 1000 }, false).textBefore,
      "a\nb",
    );
  });

  const setup = (suggestion: Suggestion | undefined, enabled = true) => {
    const seen: Array<{ req: CompletionRequest; signal?: AbortSignal }> = [];
    let manualEmpty = 0;
    const provider = new MonetInlineProvider({
      ...deps,
      controller: {
        provide: async (req, signal) => {
          seen.push({ req, signal });
          return suggestion;
        },
      },
      enabledFor: () => enabled,
      item: (text, range) => ({ insertText: text, range }) as unknown as vscode.InlineCompletionItem,
      invokeKind: INVOKE,
      onManualEmpty: () => manualEmpty++,
    });
    return { provider, seen, manualEmpty: () => manualEmpty };
  };
  const ctx = (triggerKind: vscode.InlineCompletionTriggerKind, selectedCompletionInfo?: unknown) =>
    ({ triggerKind, selectedCompletionInfo }) as vscode.InlineCompletionContext;

  it("returns the suggestion as one item at the cursor", async () => {
    const { provider, seen } = setup({ text: "a, b)", source: "engine", latencyMs: 5 });
    const items = await provider.provideInlineCompletionItems(
      fakeDocument("f("),
      pos(0, 2),
      ctx(AUTOMATIC),
      fakeToken().token,
    );
    assert.equal(items?.length, 1);
    assert.equal((items![0] as unknown as { insertText: string }).insertText, "a, b)");
    assert.equal(seen[0]!.req.manual, false);
  });

  it("automatic completion respects the language switch; a manual trigger does not", async () => {
    const { provider, seen } = setup({ text: "x", source: "engine", latencyMs: 1 }, false);
    assert.equal(
      await provider.provideInlineCompletionItems(
        fakeDocument("f("),
        pos(0, 2),
        ctx(AUTOMATIC),
        fakeToken().token,
      ),
      undefined,
    );
    assert.equal(seen.length, 0);
    const items = await provider.provideInlineCompletionItems(
      fakeDocument("f("),
      pos(0, 2),
      ctx(INVOKE),
      fakeToken().token,
    );
    assert.equal(items?.length, 1);
    assert.equal(seen[0]!.req.manual, true);
  });

  it("stays out of the way while the suggest widget is open", async () => {
    const { provider, seen } = setup({ text: "x", source: "engine", latencyMs: 1 });
    assert.equal(
      await provider.provideInlineCompletionItems(
        fakeDocument("f("),
        pos(0, 2),
        ctx(AUTOMATIC, { text: "foo" }),
        fakeToken().token,
      ),
      undefined,
    );
    assert.equal(seen.length, 0);
  });

  it("cancellation reaches the controller's signal; a cancelled request shows nothing", async () => {
    const t = fakeToken();
    const { provider, seen } = setup({ text: "x", source: "engine", latencyMs: 1 });
    const pending = provider.provideInlineCompletionItems(
      fakeDocument("f("),
      pos(0, 2),
      ctx(AUTOMATIC),
      t.token,
    );
    t.cancel();
    assert.equal(await pending, undefined);
    assert.equal(seen[0]!.signal?.aborted, true);
  });

  it("a manual request with nothing to suggest says so", async () => {
    const s = setup(undefined);
    await s.provider.provideInlineCompletionItems(
      fakeDocument("f("),
      pos(0, 2),
      ctx(INVOKE),
      fakeToken().token,
    );
    assert.equal(s.manualEmpty(), 1);
  });
});
