// Loops in completions: a repeated line or block of lines, or a repeated phrase, is cut
// after its first occurrence; ordinary code (closing braces, a few equal lines, runs of
// zeros) is left alone.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { dropLoop, LoopFilter, loopCut } from "../../src/completion/loop-stop";
import { finishCompletion } from "../../src/completion/stop-rules";

/**
 * The demo model's completion of the README's first prompt (`monet-lens generate --json`,
 * greedy, 64 tokens): one line, eight times.
 */
const README_FIRST = "    n = n - 1\n".repeat(8);
/** A loop after some code. */
const DEMO = `    if n < 0:\n        raise ValueError("n must be non-negative")\n    while n > 0:\n${"        n = n - 1\n".repeat(8)}`;

describe("loop stop", () => {
  it("drops a repeated line: the README's first completion keeps `n = n - 1` once", () => {
    assert.equal(dropLoop(README_FIRST), "    n = n - 1\n");
    assert.equal(
      finishCompletion(README_FIRST, "max-tokens", { kind: "block", indent: 0, tabSize: 4 }),
      "    n = n - 1",
    );
    assert.equal(
      dropLoop(DEMO),
      '    if n < 0:\n        raise ValueError("n must be non-negative")\n    while n > 0:\n        n = n - 1\n',
    );
    assert.equal(
      finishCompletion(DEMO, "max-tokens", { kind: "block", indent: 0, tabSize: 4 }),
      '    if n < 0:\n        raise ValueError("n must be non-negative")\n    while n > 0:\n        n = n - 1',
      "the first occurrence is a whole line: kept although the budget stopped the generation",
    );
  });

  it("counts an unfinished last repetition, and blocks of several lines", () => {
    assert.equal(loopCut("x = f(x)\nx = f(x)\nx = f("), "x = f(x)\n".length);
    const block = "a = read()\nwrite(a)\n";
    assert.equal(dropLoop(`start()\n${block.repeat(3)}`), `start()\n${block}`);
    assert.equal(loopCut(`${block}${block}`), undefined, "twice is not yet a loop");
  });

  it("drops a repeated phrase within a line", () => {
    assert.equal(dropLoop("print(foo(bar), foo(bar), foo(bar), foo(bar), foo(bar)"), "print(foo(bar), ");
  });

  it("leaves ordinary code alone", () => {
    for (const code of [
      "    }\n  }\n}\n",
      "end\nend\nend\n",
      "x = [0, 0, 0, 0, 0, 0, 0, 0]\n",
      "\n\n\n\n",
      "a = 1\nb = 2\na = 1\nb = 3\n",
      "        i += 1\n        i += 1\n",
    ])
      assert.equal(loopCut(code), undefined, JSON.stringify(code));
  });

  it("streamed: shows complete lines as they come, holds back what could still repeat, never shows the repetition", () => {
    const f = new LoopFilter();
    let shown = "";
    for (const ch of README_FIRST) {
      shown += f.push(ch);
      assert.ok(!shown.includes("n = n - 1\n    n = n - 1"), "a repetition is never shown");
    }
    assert.equal(f.looping, true, "the loop is found (the generation can stop)");
    shown += f.end();
    assert.equal(shown, "    n = n - 1\n");
    // Text that does not loop comes out whole, line by line.
    const g = new LoopFilter();
    const code = Array.from({ length: 14 }, (_, k) => `x${k} = ${k}\n`).join("");
    let out = "";
    let early = "";
    for (const ch of code) {
      out += g.push(ch);
      if (!early && out) early = out;
    }
    assert.equal(early, "x0 = 0\n", "the first line shows before the text ends");
    assert.equal(out + g.end(), code);
    assert.equal(g.looping, false);
  });
});
