import { test } from "node:test";
import assert from "node:assert/strict";
import { DOMINANCE, dominantClass } from "../../src/atlas/dominance";
import { type DominanceSamples, dominanceTables, rates, scoreRule } from "../../src/atlas/dominance-eval";

const C = ["c", "java", "plaintext"];

test("a class is dominant only with lift ≥ minLift and ≥ minRatio × the next class's lift", () => {
  const t = { minLift: 2, minRatio: 1.5 };
  assert.equal(dominantClass([3, 1, 1], C, t), "c");
  assert.equal(dominantClass([3, 2, 1], C, t), "c", "exactly 1.5 × the next");
  assert.equal(dominantClass([3, 2.1, 1], C, t), null, "not clearly above the next");
  assert.equal(dominantClass([1.9, 0, 0], C, t), null, "not clearly above its baseline");
  assert.equal(dominantClass([0, 0, 5], C, t), "plaintext", "a control class can dominate");
  assert.equal(dominantClass([4, 4, 0], C, { minLift: 2, minRatio: 1 }), null, "a tie names nobody");
  assert.equal(dominantClass([4, 0, 0], C, { minLift: 2, minRatio: 100 }), "c", "no rival at all");
  assert.equal(dominantClass(null, C, t), null);
  assert.equal(dominantClass([], C, t), null);
  assert.match(DOMINANCE.text, /lift ≥ \d/);
  assert.ok(
    DOMINANCE.token.minLift >= DOMINANCE.selection.minLift,
    "a token needs at least a selection's lift",
  );
});

test("scoreRule counts right, wrong and none per token, window, file and mixed text", () => {
  const baselines = [0.1, 0.1, 0.1];
  const rows = (...r: number[][]) => Float32Array.from(r.flat());
  const s: DominanceSamples = {
    classes: C,
    baselines,
    files: [
      // a C file: token 0 clearly C, token 1 clearly Java (wrong), token 2 nothing
      { cls: 0, path: "c/a.c", tokens: 3, shares: rows([0.5, 0.1, 0], [0.1, 0.5, 0], [0.1, 0.1, 0.1]) },
      // a prose file: both tokens prose
      { cls: 2, path: "plaintext/a.txt", tokens: 2, shares: rows([0, 0, 0.6], [0.05, 0, 0.4]) },
    ],
    mixed: [{ a: 0, b: 1, tokens: 2, part: Uint8Array.of(0, 1), shares: rows([0.3, 0, 0], [0, 0.3, 0]) }],
  };
  const t = { minLift: 3, minRatio: 1.5 };
  const r = scoreRule(s, t, t, { windowTokens: 2, controls: ["plaintext"] });
  assert.deepEqual(r.codeTokens, { right: 1, wrong: 1, none: 1 });
  assert.deepEqual(r.proseTokens, { right: 2, wrong: 0, none: 0 });
  assert.deepEqual(
    r.codeWindows,
    { right: 0, wrong: 0, none: 1 },
    "one whole window: C 3.0 vs Java 3.0, a tie",
  );
  assert.deepEqual(r.proseFiles, { right: 1, wrong: 0, none: 0 });
  assert.deepEqual(r.codeFiles, { right: 0, wrong: 0, none: 1 });
  assert.deepEqual(r.mixed, { right: 0, wrong: 0, none: 1 }, "half C, half Java: nobody");
  assert.deepEqual(r.perClassFiles.plaintext, { right: 1, wrong: 0, none: 0 });
  assert.deepEqual(rates(r.codeTokens), { right: 33.3, wrong: 33.3, none: 33.3, n: 3 });
  const table = dominanceTables(s, ["plaintext"], 2);
  assert.match(table, /\| 3 \| 1\.5 \| 33\.3 \/ 33\.3 \/ 33\.3 \| 100 \/ 0 \/ 0 \|/);
});
