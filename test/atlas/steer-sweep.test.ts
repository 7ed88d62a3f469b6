// The steering sweep's pure parts: its scale list, its table, and its SVG (one curve per
// language, Δ against scale 1). The sweep itself runs end to end in test/atlas/cli.test.ts.
import { test } from "node:test";
import assert from "node:assert/strict";
import { parseSweepScales, type SweepResult, sweepTable } from "../../src/atlas/steer-sweep";
import { sweepSvg } from "../../src/atlas/sweep-svg";

test("sweep scales: finite, ≥ 0, distinct, at least two", () => {
  assert.deepEqual(parseSweepScales("0,0.5,1,1.5,2"), [0, 0.5, 1, 1.5, 2]);
  assert.deepEqual(parseSweepScales(" 2 , .5 "), [2, 0.5]);
  assert.throws(() => parseSweepScales("0,-1"), /"-1" is not a scale; give finite numbers ≥ 0/);
  assert.throws(() => parseSweepScales("0,inf,x"), /"inf", "x" are not a scale/);
  assert.throws(() => parseSweepScales("1,1"), /given twice/);
  assert.throws(() => parseSweepScales("1"), /at least two/);
});

const sweep: SweepResult = {
  scales: [0, 1, 2],
  languages: ["lua", "php"],
  ce: { lua: [1.5, 1.2, 1.25], php: [1.1, 1.0, 0.99] },
  none: { lua: 1.2, php: 1.0 },
  tokens: { lua: 100, php: 90 },
  files: { lua: 2, php: 1 },
};

test("the sweep's table: CE at ×1 and the change at every scale", () => {
  const md = sweepTable(sweep).split("\n");
  assert.equal(md[0], "| language (tokens) | CE at ×1 | ×0 | ×1 | ×2 |");
  assert.equal(md[2], "| lua (100) | 1.200 | +0.300 | 0 | +0.050 |");
  assert.equal(md[3], "| php (90) | 1.000 | +0.100 | 0 | −0.010 |");
});

test("the sweep's SVG: a line and its points per language, labelled", () => {
  const svg = sweepSvg(sweep);
  assert.match(svg, /^<svg [^>]*xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
  assert.equal((svg.match(/<path /g) ?? []).length, 2);
  assert.equal((svg.match(/<circle /g) ?? []).length, 6);
  assert.match(svg, /<title>lua ×0: \+0\.30 \(CE 1\.500\)<\/title>/);
  assert.match(svg, />×1</);
  assert.match(svg, />php<\/text>/);
  assert.doesNotMatch(svg, /NaN/);
});
