// The engine's steering type: one canonical form per content (sorted, unique, float32
// scales, scale 1 left out), a key from the content only, duplicates multiplied, and the
// protocol form checked and re-keyed by the engine process.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  noSteering,
  readSteeringFile,
  scaleMatrix,
  steeringFromIndexLists,
  steeringFromScaledExperts,
  steeringFromWire,
  steeringToWire,
} from "../../src/engine/steering";

test("canonical form: sorted, unique, scale 1 dropped; the key is the content's", () => {
  const a = steeringFromScaledExperts(
    [
      [
        [9, 0.5],
        [2, 0],
        [4, 1],
      ],
      [],
    ],
    4,
    "a",
  );
  assert.deepEqual(a.groups, [
    { indices: [2, 9], scales: [0, 0.5] },
    { indices: [], scales: [] },
  ]);
  const b = steeringFromScaledExperts(
    [
      [
        [2, 0],
        [9, 0.5],
      ],
      [],
    ],
    4,
    "b",
  );
  assert.equal(a.key, b.key, "the label is not part of the key");
  assert.match(a.key, /^[0-9a-f]{24}$/);
  const c = steeringFromScaledExperts(
    [
      [],
      [
        [2, 0],
        [9, 0.5],
      ],
    ],
    4,
    "c",
  );
  assert.notEqual(c.key, a.key, "the same experts in another group are another steering");
  assert.notEqual(steeringFromIndexLists([[2, 9], []], 4, "mask").key, a.key, "scales count");
});

test("an expert listed twice gets the product of its scales; masks list experts once", () => {
  const s = steeringFromScaledExperts(
    [
      [
        [3, 2],
        [3, 1.5],
        [5, 2],
        [5, 0.5],
      ],
    ],
    4,
    "x",
  );
  assert.deepEqual(s.groups[0], { indices: [3], scales: [3] });
  assert.deepEqual(steeringFromIndexLists([[7, 7, 1]], 4, "m").groups[0], {
    indices: [1, 7],
    scales: [0, 0],
  });
  assert.equal(steeringFromIndexLists([[7]], 4, "m", 1).key, "", "scale 1 everywhere: nothing steered");
});

test("nothing steered: empty key and label", () => {
  const none = noSteering(2, 4);
  assert.equal(none.key, "");
  assert.equal(none.label, "");
  assert.equal(steeringFromScaledExperts([[], []], 4, "label").label, "");
  assert.equal(steeringToWire(none), undefined, "nothing steered never travels");
  assert.equal(steeringToWire(undefined), undefined);
});

test("bad input is refused with the reason", () => {
  assert.throws(() => steeringFromScaledExperts([[[16, 0]]], 4, "x"), /out of range for 4×4/);
  assert.throws(() => steeringFromScaledExperts([[[1, -1]]], 4, "x"), /finite and ≥ 0/);
  assert.throws(() => steeringFromScaledExperts([[[1, Number.NaN]]], 4, "x"), /finite and ≥ 0/);
  assert.throws(() => steeringFromScaledExperts([[[1.5, 0]]], 4, "x"), /out of range/);
});

test("the wire form round-trips; the engine process checks it and recomputes the key", () => {
  const s = steeringFromScaledExperts(
    [
      [
        [1, 0],
        [6, 2.5],
      ],
      [[15, 0.25]],
    ],
    4,
    "−x, y×2.5",
  );
  const wire = JSON.parse(JSON.stringify(steeringToWire(s)));
  assert.equal("key" in wire, false);
  const back = steeringFromWire(wire, { groups: 2, experts: 4 });
  assert.deepEqual(back, s);
  const forged = { ...wire, label: "something else", key: "0".repeat(24) };
  assert.equal(steeringFromWire(forged, { groups: 2, experts: 4 }).key, s.key, "the key is not trusted");
  const expect = { groups: 2, experts: 4 };
  assert.throws(() => steeringFromWire(wire, { groups: 3, experts: 4 }), /2 groups, the model has 3/);
  assert.throws(() => steeringFromWire(wire, { groups: 2, experts: 8 }), /4 experts, the model has 8/);
  const outOfRange = { ...wire, groups: [{ indices: [16], scales: [0] }, wire.groups[1]] };
  assert.throws(() => steeringFromWire(outOfRange, expect), /out of range/);
  const negative = { ...wire, groups: [{ indices: [1], scales: [-2] }, wire.groups[1]] };
  assert.throws(() => steeringFromWire(negative, expect), /finite and ≥ 0/);
  const ragged = { ...wire, groups: [{ indices: [1, 2], scales: [0] }, wire.groups[1]] };
  assert.throws(() => steeringFromWire(ragged, expect), /one length/);
  assert.throws(() => steeringFromWire("x", expect), /not an object/);
});

test("the dense scale matrix has S where steered and 1 elsewhere", () => {
  const s = steeringFromScaledExperts([[[5, 0]], [[0, 1.5]]], 4, "x");
  const m0 = scaleMatrix(s, 0);
  assert.equal(m0.length, 16);
  assert.equal(m0[5], 0);
  assert.equal(m0.filter((v) => v === 1).length, 15);
  assert.equal(scaleMatrix(s, 1)[0], 1.5);
});

test("a mask file: experts per group, checked against the model", () => {
  const dir = mkdtempSync(join(tmpdir(), "lens-mask-file-"));
  try {
    const file = join(dir, "m.json");
    writeFileSync(file, JSON.stringify({ experts: 4, groups: [[3, 1], [15]] }));
    const s = readSteeringFile(file, 2, 4);
    assert.deepEqual(s.groups, [
      { indices: [1, 3], scales: [0, 0] },
      { indices: [15], scales: [0] },
    ]);
    assert.equal(s.label, `mask file ${file}`);
    assert.throws(() => readSteeringFile(file, 3, 4), /expected \{"experts": 4, "groups": \[3 arrays/);
    writeFileSync(file, "{");
    assert.throws(() => readSteeringFile(file, 2, 4), /cannot read the mask file/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
