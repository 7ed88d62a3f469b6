import { test } from "node:test";
import assert from "node:assert/strict";
import { TopContexts } from "../../src/atlas/top-contexts";

const entries = (c: TopContexts, g: number, e: number) =>
  Array.from({ length: c.k }, (_, k) => [c.score[g]![e * c.k + k]!, c.token[g]![e * c.k + k]!]).filter(
    ([s]) => s! > 0,
  );

test("keeps each expert's K best tokens, best first, at most one per file", () => {
  const c = new TopContexts(1, 4, 3);
  c.offer(0, 2, 0.5, 10, 1);
  c.offer(0, 2, 0.25, 11, 2);
  c.offer(0, 2, 0.75, 12, 3);
  assert.deepEqual(entries(c, 0, 2), [
    [0.75, 12],
    [0.5, 10],
    [0.25, 11],
  ]);
  c.offer(0, 2, 0.125, 13, 4); // below the third: ignored
  assert.deepEqual(
    entries(c, 0, 2).map((x) => x[1]),
    [12, 10, 11],
  );
  c.offer(0, 2, 0.375, 14, 5); // displaces the last
  assert.deepEqual(
    entries(c, 0, 2).map((x) => x[1]),
    [12, 10, 14],
  );
  c.offer(0, 2, 0.4375, 15, 5); // same file as 14, better: replaces it
  assert.deepEqual(entries(c, 0, 2), [
    [0.75, 12],
    [0.5, 10],
    [0.4375, 15],
  ]);
  c.offer(0, 2, 0.4, 16, 3); // same file as the best, worse: ignored
  c.offer(0, 2, 0.875, 17, 1); // same file as 10, now the best: 10 leaves, nothing else does
  assert.deepEqual(entries(c, 0, 2), [
    [0.875, 17],
    [0.75, 12],
    [0.4375, 15],
  ]);
  assert.deepEqual(entries(c, 0, 1), [], "other experts untouched");
  assert.throws(() => new TopContexts(1, 4, 0), /1–64/);
});
