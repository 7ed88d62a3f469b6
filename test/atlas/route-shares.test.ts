import { test } from "node:test";
import assert from "node:assert/strict";
import { expertOwners, routeJson, tokenShares } from "../../src/atlas/route-shares";
import { maskLanguages, resolveSteering } from "../../src/atlas/steering-selection";
import { scaleMatrix, steeringFromScaledExperts } from "../../src/engine/steering";
import { smallAtlas } from "./helpers";

// E = 4, H = 2, 2 groups, T = 2 tokens. Each head's g1 and g2 sum to 1.
const E = 4;
const H = 2;
const shape = { tokens: 2, heads: H, experts: E, groups: 2 };
function routing() {
  const g1 = [new Float32Array(2 * H * E), new Float32Array(2 * H * E)];
  const g2 = [new Float32Array(2 * H * E), new Float32Array(2 * H * E)];
  const set = (a: Float32Array, t: number, h: number, vals: number[]) => a.set(vals, (t * H + h) * E);
  // token 1, group 0:
  //   head 0 → g1 = [1,0,0,0], g2 = [0.5,0.5,0,0]: experts (0,0)=0.5 lua, (0,1)=0.5 python
  //   head 1 → g1 = [0,0.5,0.5,0], g2 = [0,1,0,0]: (1,1)=0.5 (e=5, lua), (2,1)=0.5 (e=9, none)
  set(g1[0]!, 1, 0, [1, 0, 0, 0]);
  set(g2[0]!, 1, 0, [0.5, 0.5, 0, 0]);
  set(g1[0]!, 1, 1, [0, 0.5, 0.5, 0]);
  set(g2[0]!, 1, 1, [0, 1, 0, 0]);
  // token 1, group 1: both heads → g1 = [0,0,0,1], g2 = [0,0,0.25,0.75]:
  //   (3,3)=0.75 (e=15, lua), (3,2)=0.25 (none)
  for (const h of [0, 1]) {
    set(g1[1]!, 1, h, [0, 0, 0, 1]);
    set(g2[1]!, 1, h, [0, 0, 0.25, 0.75]);
  }
  // token 0 (BOS): uniform-ish
  for (const g of [0, 1])
    for (const h of [0, 1]) {
      set(g1[g]!, 0, h, [0.25, 0.25, 0.25, 0.25]);
      set(g2[g]!, 0, h, [0.25, 0.25, 0.25, 0.25]);
    }
  return { g1, g2 };
}

test("shares per group and language, their mean, the dominant language and sorted top experts", () => {
  const owners = expertOwners(smallAtlas());
  assert.deepEqual(owners.languages, ["lua", "python"]);
  const s = tokenShares(routing(), shape, 1, owners);
  // group 0: lua = (0.5 + 0.5)/2 = 0.5, python = 0.5/2 = 0.25; group 1: lua = 2·0.75/2 = 0.75
  assert.deepEqual(
    s.groupShares.map((g) => g.map((x) => +x.toFixed(6))),
    [
      [0.5, 0.25],
      [0.75, 0],
    ],
  );
  assert.deepEqual(
    s.shares.map((x) => +x.toFixed(6)),
    [0.625, 0.125],
  );
  for (const g of s.groupShares) assert.ok(g.reduce((a, b) => a + b, 0) <= 1 + 1e-9);
  assert.ok(s.shares.reduce((a, b) => a + b, 0) <= 1 + 1e-9);
  assert.equal(s.dominant, "lua");
  const g0 = s.top.filter((e) => e[0] === 0);
  assert.equal(g0.length, 3);
  for (let k = 1; k < g0.length; k++) assert.ok(g0[k - 1]![4] >= g0[k]![4], "sorted by score");
  assert.deepEqual(
    s.top.filter((e) => e[0] === 1).map((e) => [e[1], e[2], e[3], +e[4].toFixed(6), e[5]]),
    [
      [0, 3, 3, 0.75, "lua"],
      [1, 3, 3, 0.75, "lua"],
      [0, 3, 2, 0.25, null],
    ],
  );
  assert.ok(g0.every((e) => e[4] === 0.5));
  // Four experts tie at 0.5 in group 0: the first three met (head, then i, then j) stay.
  assert.deepEqual(
    g0.map((e) => [e[1], e[2], e[3], e[5]]),
    [
      [0, 0, 0, "lua"],
      [0, 0, 1, "python"],
      [1, 1, 1, "lua"],
    ],
  );
});

test("masked experts count for no language and leave the top list", () => {
  const atlas = smallAtlas();
  const owners = expertOwners(atlas);
  const { steering } = resolveSteering(atlas, maskLanguages(["lua"]), { unknown: "reject" });
  const s = tokenShares(routing(), shape, 1, owners, [scaleMatrix(steering, 0), scaleMatrix(steering, 1)]);
  assert.deepEqual(
    s.groupShares.map((g) => g.map((x) => +x.toFixed(6))),
    [
      [0, 0.25],
      [0, 0],
    ],
  );
  assert.equal(s.dominant, "python");
  assert.ok(s.top.every((e) => e[5] !== "lua"));
});

test("a scaled expert's score is scaled in the shares and the top list", () => {
  const atlas = smallAtlas();
  const owners = expertOwners(atlas);
  const plain = tokenShares(routing(), shape, 1, owners);
  // Expert 0 of group 0 is Lua's: twice its weight.
  const steering = steeringFromScaledExperts([[[0, 2]], []], 4, "expert 0×2");
  const s = tokenShares(routing(), shape, 1, owners, [scaleMatrix(steering, 0), scaleMatrix(steering, 1)]);
  assert.ok(s.groupShares[0]![0]! > plain.groupShares[0]![0]!);
  assert.deepEqual(s.groupShares[1], plain.groupShares[1]);
});

test("without an atlas: no shares, no dominant language, top experts still there", () => {
  const s = tokenShares(routing(), shape, 1);
  assert.deepEqual(s.shares, []);
  assert.deepEqual(s.groupShares, [[], []]);
  assert.equal(s.dominant, null);
  assert.equal(s.top.length, 6);
  assert.ok(s.top.every((e) => e[5] === null));
});

test("a token with no mass in any language has no dominant language", () => {
  const r = routing();
  const owners = expertOwners(
    smallAtlas({
      sets: new Map([
        ["lua", [Uint32Array.of(), Uint32Array.of()]],
        ["python", [Uint32Array.of(), Uint32Array.of()]],
      ]),
    }),
  );
  const s = tokenShares(r, shape, 1, owners);
  assert.deepEqual(s.shares, [0, 0]);
  assert.equal(s.dominant, null);
});

test("routeJson: the heatmap contract, BOS left out, text from spans", () => {
  const atlas = smallAtlas();
  const text = "ab";
  const json = routeJson({
    model: "/models/toy",
    atlasPath: "toy.atlas.json",
    text,
    routed: {
      ids: [1, 7],
      spans: [
        [0, 0],
        [0, 2],
      ],
      pieces: ["<s>", "▁ab"],
      routing: routing(),
      shape,
    },
    owners: expertOwners(atlas),
    steering: resolveSteering(atlas, maskLanguages(["python"]), { unknown: "reject" }).steering,
    masked: ["python"],
  });
  assert.deepEqual(Object.keys(json), ["model", "atlas", "languages", "masked", "groups", "tokens"]);
  assert.deepEqual(json.languages, ["lua", "python"]);
  assert.deepEqual(json.masked, ["python"]);
  assert.equal(json.groups, 2);
  assert.equal(json.tokens.length, 1);
  const t = json.tokens[0]!;
  assert.deepEqual(Object.keys(t), [
    "id",
    "text",
    "piece",
    "span",
    "shares",
    "groupShares",
    "dominant",
    "top",
  ]);
  assert.deepEqual([t.id, t.text, t.piece, t.span], [7, "ab", "▁ab", [0, 2]]);
  assert.deepEqual(t.shares, [0.625, 0]);
  assert.equal(t.dominant, "lua");
  assert.equal(t.top.length, 6);
});
