import { test } from "node:test";
import assert from "node:assert/strict";
import { RoutingAccumulator } from "../../src/atlas/accumulate";

/** A random sparse routing [T, H, E] per group: a few kept experts per head, softmax-like weights. */
function randomRouting(T: number, H: number, E: number, groups: number, seed: number) {
  let s = seed;
  const rnd = () => {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    return s / 2 ** 31;
  };
  const side = () => {
    const a = new Float32Array(T * H * E);
    for (let t = 0; t < T; t++)
      for (let h = 0; h < H; h++) {
        const k = 1 + Math.floor(rnd() * 3);
        let z = 0;
        const picks = [...new Set(Array.from({ length: k }, () => Math.floor(rnd() * E)))];
        for (const e of picks) z += a[(t * H + h) * E + e] = rnd() + 0.1;
        for (let e = 0; e < E; e++) a[(t * H + h) * E + e]! /= z;
      }
    return a;
  };
  return { g1: Array.from({ length: groups }, side), g2: Array.from({ length: groups }, side) };
}

test("the accumulator equals Σ_t Σ_h g1[h,i]·g2[h,j] computed densely, and means divide by tokens", () => {
  const [T, H, E, G] = [5, 3, 6, 2];
  const r = randomRouting(T, H, E, G, 7);
  const acc = new RoutingAccumulator(G, H, E);
  acc.add(r, 1); // skip token 0 (BOS)
  assert.equal(acc.tokens, T - 1);
  for (let g = 0; g < G; g++) {
    const want = new Float64Array(E * E);
    for (let t = 1; t < T; t++)
      for (let h = 0; h < H; h++)
        for (let i = 0; i < E; i++)
          for (let j = 0; j < E; j++)
            want[i * E + j]! += r.g1[g]![(t * H + h) * E + i]! * r.g2[g]![(t * H + h) * E + j]!;
    for (let e = 0; e < E * E; e++)
      assert.ok(Math.abs(acc.sums[g]![e]! - want[e]!) < 1e-12, `group ${g} expert ${e}`);
    // Each token and head carries mass 1: the mean over tokens sums to H.
    const total = acc.means()[g]!.reduce((a, b) => a + b, 0);
    assert.ok(Math.abs(total - H) < 1e-5, `mean mass ${total}`);
  }
  acc.add(r, 0);
  assert.equal(acc.tokens, 2 * T - 1);
  assert.throws(() => acc.add({ g1: r.g1.slice(0, 1), g2: r.g2.slice(0, 1) }), /1 groups, expected 2/);
});
