import { test } from "node:test";
import assert from "node:assert/strict";
import { crossEntropySum, deltaTable } from "../../src/atlas/evaluate";
import { markdownTable, passCount, passes } from "../../src/atlas/report";
import { matrixSvg } from "../../src/atlas/matrix-svg";

test("cross-entropy of next-token predictions", () => {
  // vocab 3, ids [0, 1, 2]: position 0 predicts 1, position 1 predicts 2; the last row is unused.
  const logits = Float32Array.of(0, 0, 0, Math.log(2), 0, Math.log(1), 9, 9, 9);
  const r = crossEntropySum(logits, [0, 1, 2], 3);
  assert.equal(r.count, 2);
  const want = Math.log(3) + -Math.log(1 / 4);
  assert.ok(Math.abs(r.sum - want) < 1e-6, `${r.sum} vs ${want}`);
});

const result = {
  none: { a: 1, b: 2, c: 1.5 },
  masked: {
    a: { a: 1.3, b: 2.01, c: 1.49 },
    b: { a: 1.0, b: 2.02, c: 1.52 },
    c: { a: 1.05, b: 2.0, c: 1.6 },
  },
  tokens: { a: 10, b: 10, c: 10 },
};

test("the Table-3 matrix: Δ per cell, Δ target, mean and max Δ of the others, and the verdict", () => {
  const t = deltaTable(result);
  assert.deepEqual(t.rows, ["a", "b", "c"]);
  assert.deepEqual(t.cols, ["a", "b", "c"]);
  const r = (xs: number[]) => xs.map((x) => +x.toFixed(6) || 0);
  assert.deepEqual(t.delta.map(r), [
    [0.3, 0, 0.05],
    [0.01, 0.02, 0],
    [-0.01, 0.02, 0.1],
  ]);
  assert.deepEqual(r(t.target), [0.3, 0.02, 0.1]);
  assert.deepEqual(r(t.others), [0, 0.01, 0.025]);
  assert.deepEqual(r(t.maxOther), [0.01, 0.02, 0.05]);
  // a: 0.3 vs 0.01 → clear; b: 0.02 vs 0.02 → not; c: 0.1 vs 0.05 → exactly 2× and 0.05 above → clear.
  assert.deepEqual(
    [0, 1, 2].map((c) => passes(t, c)),
    [true, false, true],
  );
  assert.deepEqual(passCount(t), { passed: ["a", "c"], failed: ["b"] });
  const md = markdownTable(t, result);
  assert.match(md, /\| a \(10 tok\) \| 1\.000 \| \*\*\+0\.300\*\* \| \+0\.000 \| \+0\.050 \|/);
  assert.match(md, /\| \*\*Δ target\*\* \| \|/);
  assert.match(md, /\| mean Δ others \| \| \+0\.000 \| \+0\.010 \| \+0\.025 \|/);
  const svg = matrixSvg(t);
  assert.match(svg, /^<svg [^>]*xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
  assert.equal((svg.match(/<rect x=/g) ?? []).length, 9 + 6, "9 cells and 2 summary rows of 3");
  assert.match(svg, />\+0\.30</);
});

test("a masked language that was not evaluated has no target", () => {
  const t = deltaTable({ none: { a: 1 }, masked: { a: { a: 1.2 }, z: { a: 1.1 } } });
  assert.ok(Number.isNaN(t.target[1]!));
  assert.equal(passes(t, 1), false);
  assert.equal(passes(t, 0), true, "no other language: the own Δ alone decides");
});
