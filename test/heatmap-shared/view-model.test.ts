// The heatmap's data preparation: route-shares.ts's shares (mean over groups, per group),
// lift over baselines and dominant class (the dominance rule, the same as route's) carried
// into the view, the class columns (languages, the prose control class, "no language"), the
// per-group view, the summary row, the aggregation of many tokens into rows, the strongest
// experts, the fixed scales and the labels with units.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { routeJson, type ExpertOwners, type RouteJson } from "../../src/atlas/route-shares";
import type { RouteData, RouteToken } from "../../src/heatmap-shared/route-data";
import { className } from "../../src/heatmap-shared/class-names";
import {
  buildHeatView,
  cellLabel,
  dominantOf,
  LIFT_TOP,
  liftLabel,
  mergeTop,
  percentLabel,
  scalePosition,
  SHARE_TOP,
  tokenValues,
  visibleRuns,
  visibleText,
} from "../../src/heatmap-shared/view-model";

// `monet-lens route --json` is what the view draws: its type must stay assignable.
const sameShape: (r: RouteJson) => RouteData = (r) => r;
void sameShape;

/**
 * Two experts per side (E = 2, four experts (i, j)), one head, two routing groups, BOS and
 * two tokens. Atlas: group 0 gives (0,0) to "a" and (1,1) to "b"; group 1 gives (0,1) to "a"
 * and (1,0) to the control class "plaintext". Baselines 10 % for a and b, 20 % for plaintext.
 */
function tinyRoute(): RouteData {
  const E = 2;
  // [T, H, E] per group; BOS (t = 0) routes anywhere.
  const g1 = [new Float32Array([1, 0, 0.5, 0.5, 0, 1]), new Float32Array([1, 0, 1, 0, 0, 1])];
  const g2 = [new Float32Array([1, 0, 1, 0, 0, 1]), new Float32Array([1, 0, 0.25, 0.75, 1, 0])];
  const owners: ExpertOwners = {
    languages: ["a", "b"],
    controls: ["plaintext"],
    experts: E,
    groups: [Int16Array.from([0, -1, -1, 1]), Int16Array.from([-1, 0, 2, -1])],
    baselines: [
      [0.1, 0.1, 0.2],
      [0.1, 0.1, 0.2],
    ],
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
      [0.375, 0],
    );
    assert.deepEqual(all.summary.values, [0.3125, 0.25]);
    // a: lift 3.125, b: 2.5, prose 1.25: a is not 1.5× b, so no class is dominant for the selection.
    assert.equal(all.summary.dominant.language, null);
    assert.equal(all.summary.dominant.language, r.summary!.dominant, "the same rule as route's summary");
    assert.equal(all.max, 0.625);
    assert.equal(all.tokensPerRow, 1);
    assert.deepEqual(all.masked, [false, false]);
    assert.equal(all.hasLift, true);
  });

  it("columns: the languages, the control class (prose), then no language; shares and lift per column", () => {
    const r = tinyRoute();
    const v = buildHeatView(r, "all");
    assert.deepEqual(
      v.columns.map((c) => [c.id, c.kind, c.label, c.baseline]),
      [
        ["a", "language", "A", 0.1],
        ["b", "language", "B", 0.1],
        ["plaintext", "control", "Prose", 0.2],
        ["(none)", "unowned", "No language", null],
      ],
    );
    assert.deepEqual(v.controls, ["plaintext"]);
    const approx = (a: Array<number | null>, b: Array<number | null>) =>
      a.length === b.length && a.every((x, i) => (x === null ? b[i] === null : Math.abs(x - b[i]!) < 1e-9));
    assert.ok(approx(v.rows[0]!.shares, [0.625, 0, 0, 0.375]), `${v.rows[0]!.shares}`);
    assert.ok(approx(v.rows[1]!.shares, [0, 0.5, 0.5, 0]), `${v.rows[1]!.shares}`);
    assert.ok(approx(v.rows[0]!.lift, [6.25, 0, 0, null]), `${v.rows[0]!.lift}`);
    assert.ok(approx(v.rows[1]!.lift, [0, 5, 2.5, null]), `${v.rows[1]!.lift}`);
    assert.ok(approx(v.summary.lift, [3.125, 2.5, 1.25, null]));
    for (const row of v.rows) {
      const sum = row.shares.reduce((a, b) => a + b, 0);
      assert.ok(Math.abs(sum - 1) < 1e-9, "languages + prose + no language = the whole mass (no masks)");
    }
    assert.deepEqual(v.rows[0]!.dominant, { language: "a", share: 0.625, lift: 6.25 });
  });

  it("the view applies the dominance rule itself (tokens without route's verdict, one group, aggregated rows): the same answers as route", () => {
    const r = tinyRoute();
    // Without route's lift and verdict, the view computes the token rule from shares and baselines.
    const bare: RouteData = {
      ...r,
      tokens: r.tokens.map(({ lift: _l, controlLift: _c, ...t }) => ({ ...t, dominant: null })),
    };
    assert.deepEqual(
      buildHeatView(bare, "all").rows.map((x) => x.dominant.language),
      r.tokens.map((t) => t.dominant),
    );
    // Rows of several tokens are selections: the selection rule, as route's summary.
    const agg = buildHeatView(r, "all", 1);
    assert.equal(agg.tokensPerRow, 2);
    assert.equal(agg.rows[0]!.dominant.language, r.summary!.dominant);
    // No baselines (a version-1 atlas): no lift and nobody dominant, shares only.
    const v1: RouteData = {
      ...r,
      baseline: null,
      controlBaseline: null,
      groupBaseline: null,
      groupControlBaseline: null,
    };
    const view1 = buildHeatView(v1, "all");
    assert.equal(view1.hasLift, false);
    assert.equal(view1.rule, null);
    assert.ok(view1.rows.every((x) => x.dominant.language === null && x.lift.every((l) => l === null)));
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
      ["a", "plaintext"],
      "token 2's group-1 mass all goes to the prose control class: lift 5×",
    );
    assert.deepEqual(g1.rows[1]!.lift, [0, 0, 5, null]);
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

  it("largest share (for data without baselines): strictly the largest, the first on a tie, none when all are 0", () => {
    assert.deepEqual(dominantOf([0.1, 0.3, 0.3], ["x", "y", "z"]), { language: "y", share: 0.3, lift: null });
    assert.deepEqual(dominantOf([0, 0], ["x", "y"]), { language: null, share: 0, lift: null });
    assert.deepEqual(dominantOf([], []), { language: null, share: 0, lift: null });
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

  it("fixed scales (the same colour for the same value in every view), labels with units, display names", () => {
    assert.equal(scalePosition("lift", "language", 0.3, 1), 0, "1× is chance: no colour");
    assert.equal(scalePosition("lift", "language", 0.3, 0.5), 0);
    assert.equal(scalePosition("lift", "language", 0.3, 2), 1 / 3);
    assert.equal(scalePosition("lift", "language", 0.3, LIFT_TOP), 1);
    assert.equal(scalePosition("lift", "control", 0.3, 100), 1, "clamped");
    assert.equal(scalePosition("share", "language", SHARE_TOP / 2, 9), 0.5);
    assert.equal(scalePosition("share", "language", 0.9, 9), 1);
    assert.equal(scalePosition("lift", "unowned", 0.7, null), 0.7, "no language: a share on 0–100 %");
    assert.equal(scalePosition("lift", "language", 0.1, null), 0.4, "no baseline: the share's scale");
    assert.deepEqual([0, 0.04, 0.42, 3.14, 9.94, 12.4].map(liftLabel), [
      "0×",
      "0.0×",
      "0.4×",
      "3.1×",
      "9.9×",
      "12×",
    ]);
    assert.equal(cellLabel("lift", "language", 0.12, 3.14), "3.1×");
    assert.equal(cellLabel("share", "language", 0.12, 3.14), "12%");
    assert.equal(cellLabel("lift", "unowned", 0.676, null), "68%");
    assert.deepEqual(["cpp", "javascript", "csharp", "plaintext", "(none)", "newlang"].map(className), [
      "C++",
      "JavaScript",
      "C#",
      "Prose",
      "No language",
      "Newlang",
    ]);
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
