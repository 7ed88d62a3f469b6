// The heatmap's data preparation: route-shares.ts's shares (mean over groups, per group,
// dominant language) carried into the view, the per-group view, the summary row, the
// aggregation of many tokens into rows, the strongest experts, the scale and the labels.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { routeJson, type ExpertOwners, type RouteJson } from "../../src/atlas/route-shares";
import type { RouteData, RouteToken } from "../../src/heatmap-shared/route-data";
import {
  buildHeatView,
  dominantOf,
  mergeTop,
  percentLabel,
  scaleTop,
  tokenValues,
  visibleRuns,
  visibleText,
} from "../../src/heatmap-shared/view-model";

// `monet-lens route --json` is what the view draws: its type must stay assignable.
const sameShape: (r: RouteJson) => RouteData = (r) => r;
void sameShape;

/**
 * Two experts per side (E = 2, four experts (i, j)), one head, two routing groups, BOS and
 * two tokens. Atlas: group 0 gives (0,0) to "a" and (1,1) to "b"; group 1 gives (0,1) to "a".
 */
function tinyRoute(): RouteData {
  const E = 2;
  // [T, H, E] per group; BOS (t = 0) routes anywhere.
  const g1 = [new Float32Array([1, 0, 0.5, 0.5, 0, 1]), new Float32Array([1, 0, 1, 0, 0, 1])];
  const g2 = [new Float32Array([1, 0, 1, 0, 0, 1]), new Float32Array([1, 0, 0.25, 0.75, 1, 0])];
  const owners: ExpertOwners = {
    languages: ["a", "b"],
    experts: E,
    groups: [Int16Array.from([0, -1, -1, 1]), Int16Array.from([-1, 0, -1, -1])],
  };
  return routeJson({
    model: "tiny",
    atlasPath: "tiny.atlas.json",
    text: "xy",
    routed: {
      ids: [1, 10, 11],
      spans: [
        [0, 0],
        [0, 1],
        [1, 2],
      ],
      pieces: ["<s>", "x", "y"],
      routing: { g1, g2 },
      shape: { tokens: 3, heads: 1, experts: E, groups: 2 },
    },
    owners,
  });
}

describe("heatmap view model", () => {
  it("takes route-shares' shares: per group, their mean over groups, and the dominant language", () => {
    const r = tinyRoute();
    assert.deepEqual(
      r.tokens.map((t) => t.groupShares),
      [
        [
          [0.5, 0],
          [0.75, 0],
        ],
        [
          [0, 1],
          [0, 0],
        ],
      ],
    );
    const all = buildHeatView(r, "all");
    assert.deepEqual(
      all.rows.map((x) => x.values),
      [
        [0.625, 0],
        [0, 0.5],
      ],
    );
    assert.deepEqual(
      all.rows.map((x) => x.dominant.language),
      ["a", "b"],
    );
    assert.deepEqual(
      all.rows.map((x) => x.dominant.language),
      r.tokens.map((t) => t.dominant),
      "the same rule as route-shares.ts",
    );
    assert.deepEqual(
      all.rows.map((x) => x.unowned),
      [0.375, 0.5],
    );
    assert.deepEqual(all.summary.values, [0.3125, 0.25]);
    assert.equal(all.summary.dominant.language, "a");
    assert.equal(all.max, 0.625);
    assert.equal(all.tokensPerRow, 1);
    assert.deepEqual(all.masked, [false, false]);
  });

  it("shows one routing group at a time, with that group's dominant language and experts", () => {
    const r = tinyRoute();
    const g1 = buildHeatView(r, 1);
    assert.deepEqual(
      g1.rows.map((x) => x.values),
      [
        [0.75, 0],
        [0, 0],
      ],
    );
    assert.deepEqual(
      g1.rows.map((x) => x.dominant.language),
      ["a", null],
      "no language holds any of token 2's group-1 mass",
    );
    assert.ok(g1.rows.every((x) => x.top.every((e) => e[0] === 1)));
    assert.deepEqual(g1.rows[0]!.top[0], [1, 0, 0, 1, 0.75, "a"]);
    assert.equal(buildHeatView(r, 7).group, "all", "a group the data does not have falls back to the mean");
  });

  it("aggregates consecutive tokens into rows beyond maxRows: means, spans of tokens, merged experts", () => {
    const base = tinyRoute();
    const tokens: RouteToken[] = Array.from({ length: 10 }, (_, k) => ({
      ...base.tokens[k % 2]!,
      span: [k, k + 1] as [number, number],
      text: String(k),
    }));
    const r: RouteData = { ...base, tokens };
    const v = buildHeatView(r, "all", 4);
    assert.equal(v.tokensPerRow, 3);
    assert.deepEqual(
      v.rows.map((x) => [x.from, x.to]),
      [
        [0, 3],
        [3, 6],
        [6, 9],
        [9, 10],
      ],
    );
    assert.deepEqual(
      v.rows.map((x) => x.text),
      ["012", "345", "678", "9"],
    );
    const approx = (a: number[], b: number[]) => a.every((x, i) => Math.abs(x - b[i]!) < 1e-12);
    assert.ok(approx(v.rows[0]!.values, [(0.625 * 2) / 3, 0.5 / 3]));
    assert.ok(approx(v.rows[3]!.values, [0, 0.5]));
    assert.ok(approx(v.summary.values, [0.3125, 0.25]), "the summary counts every token once");
    assert.equal(v.tokenCount, 10);
    for (const row of v.rows) {
      const groups = row.top.map((e) => e[0]);
      assert.deepEqual(groups, [...groups].sort(), "experts by group");
      for (const g of new Set(groups)) assert.ok(groups.filter((x) => x === g).length <= 3);
    }
  });

  it("merges the strongest experts of several tokens: mean scores, top 3 per group", () => {
    const t = (top: RouteToken["top"]): RouteToken => ({
      id: 0,
      text: "",
      piece: "",
      span: [0, 0],
      shares: [],
      groupShares: [],
      dominant: null,
      top,
    });
    const merged = mergeTop(
      [
        t([
          [0, 0, 1, 1, 0.4, "a"],
          [1, 0, 2, 2, 0.2, null],
        ]),
        t([
          [0, 0, 1, 1, 0.2, "a"],
          [0, 1, 3, 3, 0.5, "b"],
        ]),
      ],
      "all",
    );
    assert.deepEqual(merged, [
      [0, 0, 1, 1, 0.30000000000000004, "a"],
      [0, 1, 3, 3, 0.25, "b"],
      [1, 0, 2, 2, 0.1, null],
    ]);
    assert.deepEqual(
      mergeTop(
        [
          t([
            [0, 0, 1, 1, 0.4, "a"],
            [1, 0, 2, 2, 0.2, null],
          ]),
        ],
        1,
      ),
      [[1, 0, 2, 2, 0.2, null]],
    );
    const many = t(
      Array.from({ length: 5 }, (_, k) => [0, 0, k, k, k / 10, null] as RouteToken["top"][number]),
    );
    assert.deepEqual(
      mergeTop([many], "all").map((e) => e[2]),
      [4, 3, 2],
    );
  });

  it("marks the masked languages the data was computed with", () => {
    const r = { ...tinyRoute(), masked: ["b"] };
    assert.deepEqual(buildHeatView(r, "all").masked, [false, true]);
  });

  it("dominant language: strictly the largest share, the first on a tie, none when all are 0", () => {
    assert.deepEqual(dominantOf([0.1, 0.3, 0.3], ["x", "y", "z"]), { language: "y", share: 0.3 });
    assert.deepEqual(dominantOf([0, 0], ["x", "y"]), { language: null, share: 0 });
    assert.deepEqual(dominantOf([], []), { language: null, share: 0 });
  });

  it("reads shares defensively: missing or non-finite values count as 0", () => {
    const t: RouteToken = {
      id: 0,
      text: "",
      piece: "",
      span: [0, 0],
      shares: [0.5, Number.NaN],
      groupShares: [[0.2]],
      dominant: null,
      top: [],
    };
    assert.deepEqual(tokenValues(t, "all", 3), [0.5, 0, 0]);
    assert.deepEqual(tokenValues(t, 0, 2), [0.2, 0]);
    assert.deepEqual(tokenValues(t, 5, 2), [0, 0]);
  });

  it("scale top, percentage labels and visible whitespace", () => {
    assert.equal(scaleTop(0), 1);
    assert.equal(scaleTop(0.47), 0.5);
    assert.equal(scaleTop(0.5), 0.5);
    assert.equal(scaleTop(0.012), 0.02);
    assert.equal(scaleTop(1.2), 1);
    assert.deepEqual([0, 0.0004, 0.067, 0.0996, 0.24, 1].map(percentLabel), [
      "0",
      "0.0",
      "6.7",
      "10",
      "24",
      "100",
    ]);
    assert.deepEqual(visibleRuns(" fib\n"), [
      { text: "·", ws: true },
      { text: "fib", ws: false },
      { text: "↵", ws: true },
    ]);
    assert.equal(visibleText("\t\r\n"), "→␍↵");
    assert.equal(visibleText(""), "∅");
    assert.equal(visibleText("a\u0001"), "a\\x01");
    assert.equal(visibleText("🚀x"), "🚀x", "an emoji is one character");
    assert.equal(visibleText("abcdef", 3), "abc…");
  });
});
