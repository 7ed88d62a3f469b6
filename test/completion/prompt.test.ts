// The prompt window: the text before the cursor, cut at a line start within a token budget,
// with a start that stays put while the user types (so the engine's cache is reused).
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { readFileSync, readdirSync } from "node:fs";
import { PromptWindows, freshWindow, promptTokenizer } from "../../src/completion/prompt";
import { SentencePieceTokenizer } from "../../src/tokenizer/tokenizer";
import { DEMO_MODEL, SHARED } from "../helpers/fixtures";

const spm = SentencePieceTokenizer.fromFile(join(DEMO_MODEL, "tokenizer.model"));
const tok = promptTokenizer(spm);
const pyDir = join(SHARED, "corpus", "python");
const source = readdirSync(pyDir)
  .sort()
  .slice(0, 6)
  .map((f) => readFileSync(join(pyDir, f), "utf8"))
  .join("\n");

describe("prompt window", () => {
  it("takes the whole text when it fits", () => {
    const w = freshWindow("def f(x):\n    return x\n", 0, 256, tok);
    assert.equal(w.text, "def f(x):\n    return x\n");
    assert.equal(w.start, 0);
  });

  it("cuts long text at a line start, within the budget", () => {
    const before = source.slice(0, 6000);
    for (const budget of [64, 200, 512]) {
      const w = freshWindow(before, 0, budget, tok);
      assert.ok(
        spm.encode(w.text).length <= budget,
        `${spm.encode(w.text).length} tokens for a budget of ${budget}`,
      );
      assert.ok(w.start > 0 && before[w.start - 1] === "\n", "starts a line");
      assert.equal(before.slice(w.start), w.text);
      assert.ok(spm.encode(w.text).length >= budget * 0.5, "uses a fair share of the budget");
    }
  });

  it("keeps its start while the user types, and moves on once the budget is used up", () => {
    const windows = new PromptWindows();
    const base = source.slice(0, 3000);
    const budget = 256;
    const first = windows.window("doc", base, 0, budget, tok);
    let counted = 0;
    const counting = {
      count: (t: string) => {
        counted++;
        return tok.count(t);
      },
      tokenStarts: tok.tokenStarts,
    };
    let text = base;
    let last = first;
    const typed = "\n    result = compute_everything(alpha, beta)\n";
    for (let i = 0; i < typed.length; i++) {
      text += typed[i];
      last = windows.window("doc", text, 0, budget, counting);
      assert.ok(last.tokens <= budget);
      assert.ok(spm.encode(last.text).length <= budget);
      if (last.start !== first.start) break;
      assert.ok(last.text.startsWith(first.text), "each prompt extends the one before");
    }
    assert.ok(counted < typed.length / 4, `tokenised ${counted} times for ${typed.length} keystrokes`);
    // Far more text: the window moves on, to a line start, and fits again.
    const more = text + source.slice(3000, 4500);
    const moved = windows.window("doc", more, 0, budget, tok);
    assert.ok(moved.start > first.start && more[moved.start - 1] === "\n");
    assert.ok(spm.encode(moved.text).length <= budget);
  });

  it("a window whose start no longer begins a line (edit above) is rebuilt", () => {
    const windows = new PromptWindows();
    const base = source.slice(0, 3000);
    const w = windows.window("doc", base, 0, 128, tok);
    const edited = `#${base}`; // every offset shifts by one
    const w2 = windows.window("doc", edited, 0, 128, tok);
    assert.equal(edited.slice(w2.start), w2.text);
    assert.ok(w2.start === 0 || edited[w2.start - 1] === "\n");
    assert.ok(w.text.length > 0);
  });
});
