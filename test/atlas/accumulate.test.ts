import { test } from "node:test";
import assert from "node:assert/strict";
import { RoutingAccumulator } from "../../src/atlas/accumulate";
import { TopContexts } from "../../src/atlas/top-contexts";

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

test("with a contexts index: the same sums, and every expert's best tokens by Σ_h g1·g2, one per file", () => {
  const [T, H, E, G] = [9, 3, 5, 2];
  const r = randomRouting(T, H, E, G, 11);
  const plain = new RoutingAccumulator(G, H, E);
  plain.add(r, 1);
  const contexts = new TopContexts(G, E * E, 2);
  const acc = new RoutingAccumulator(G, H, E, contexts);
  // tokens 1–4 come from file 0, 5–8 from file 1; token t has reference 100 + t.
  acc.add({ g1: r.g1.map((a) => a.slice(0, 5 * H * E)), g2: r.g2.map((a) => a.slice(0, 5 * H * E)) }, 1, {
    token: (t) => 100 + t,
    doc: 0,
  });
  const tail = (a: Float32Array) => {
    const b = new Float32Array(T * H * E);
    b.set(a.subarray(5 * H * E), 5 * H * E);
    return b;
  };
  acc.add({ g1: r.g1.map(tail), g2: r.g2.map(tail) }, 5, { token: (t) => 100 + t, doc: 1 });
  assert.equal(acc.tokens, T - 1);
  for (let g = 0; g < G; g++) {
    for (let e = 0; e < E * E; e++) assert.ok(Math.abs(acc.sums[g]![e]! - plain.sums[g]![e]!) < 1e-12);
    for (let e = 0; e < E * E; e++) {
      const [i, j] = [Math.floor(e / E), e % E];
      const score = (t: number) => {
        let s = 0;
        for (let h = 0; h < H; h++) s += r.g1[g]![(t * H + h) * E + i]! * r.g2[g]![(t * H + h) * E + j]!;
        return s;
      };
      // Best token of each file, then the two best of those.
      const bestOf = (from: number, to: number) => {
        let b = -1;
        for (let t = from; t < to; t++) if (score(t) > 0 && (b < 0 || score(t) > score(b))) b = t;
        return b;
      };
      const want = [bestOf(1, 5), bestOf(5, T)].filter((t) => t >= 0).sort((a, b) => score(b) - score(a));
      const got = [0, 1]
        .filter((k) => contexts.score[g]![e * 2 + k]! > 0)
        .map((k) => contexts.token[g]![e * 2 + k]! - 100);
      assert.deepEqual(got, want, `group ${g} expert ${e}`);
      got.forEach((t, k) => {
        assert.equal(contexts.score[g]![e * 2 + k], Math.fround(score(t)));
      });
    }
  }
  assert.throws(() => acc.add(r, 1), /token references are needed/);
});
