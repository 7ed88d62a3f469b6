import { test } from "node:test";
import assert from "node:assert/strict";
import { specialise, TopTwo } from "../../src/atlas/specialise";

const sets = (m: Map<string, Uint32Array[]>) =>
  Object.fromEntries([...m].map(([k, v]) => [k, v.map((s) => [...s])]));

test("the ratio rule on hand-made scores (one group, 6 experts)", () => {
  const means = new Map([
    //              e0   e1   e2   e3   e4   e5
    ["a", [[0.4, 0.2, 0.3, 0.0, 0.1, 0.5]]],
    ["b", [[0.2, 0.1, 0.3, 0.0, 0.0, 0.3]]],
    ["c", [[0.1, 0.05, 0.1, 0.0, 0.0, 0.1]]],
  ]);
  // e0: 0.4 vs 0.2 → a (exactly 2×); e1: 0.2 vs 0.1 → a; e2: tie a/b → nobody;
  // e3: all zero → nobody; e4: 0.1 vs 0 → a; e5: 0.5 vs 0.3 → below 2×.
  assert.deepEqual(sets(specialise(means, 2)), { a: [[0, 1, 4]], b: [[]], c: [[]] });
  // A lower ratio admits e5; the tie still labels nobody.
  assert.deepEqual(sets(specialise(means, 1.5)), { a: [[0, 1, 4, 5]], b: [[]], c: [[]] });
  // Ratio 1: strictly highest suffices.
  assert.deepEqual(sets(specialise(means, 1)), { a: [[0, 1, 4, 5]], b: [[]], c: [[]] });
  // A higher ratio drops e0 and e1 (2×) but keeps e4 (second is 0).
  assert.deepEqual(sets(specialise(means, 2.5)), { a: [[4]], b: [[]], c: [[]] });
});

test("the rule does not depend on the order languages arrive in, and handles several groups", () => {
  const a = [
    [0.9, 0.1, 0.0, 0.3],
    [0.0, 0.5, 0.5, 0.1],
  ];
  const b = [
    [0.1, 0.9, 0.0, 0.3],
    [0.2, 0.1, 0.5, 0.0],
  ];
  const c = [
    [0.0, 0.0, 0.7, 0.1],
    [0.0, 0.0, 0.0, 0.05],
  ];
  const want = { a: [[0], [1, 3]], b: [[1], [0]], c: [[2], []] };
  assert.deepEqual(
    sets(
      specialise(
        new Map([
          ["a", a],
          ["b", b],
          ["c", c],
        ]),
        2,
      ),
    ),
    want,
  );
  assert.deepEqual(
    sets(
      specialise(
        new Map([
          ["c", c],
          ["b", b],
          ["a", a],
        ]),
        2,
      ),
    ),
    want,
  );
});

test("a single language: every expert with some mass is its own", () => {
  assert.deepEqual(sets(specialise(new Map([["a", [[0.0, 0.1, 1e-9]]]]), 2)), { a: [[1, 2]] });
});

test("TopTwo rejects bad input", () => {
  const t = new TopTwo(1, 2);
  t.offer("a", [[1, 0]]);
  assert.throws(() => t.offer("a", [[1, 0]]), /twice/);
  assert.throws(() => t.offer("b", [[1, 0, 0]]), /3 scores, expected 2/);
  assert.throws(
    () =>
      t.offer("b", [
        [1, 0],
        [1, 0],
      ]),
    /2 groups/,
  );
  assert.throws(() => t.specialised(0.5), /ratio/);
  assert.throws(() => t.specialised(NaN), /ratio/);
});
