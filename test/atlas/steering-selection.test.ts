// The one resolver from (atlas, selection) to the engine's Steering: languages' experts in
// every routing group, masked or scaled; unknown languages rejected (the CLI) or ignored and
// reported (the extension); the key depends on the content alone.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  combineLanguageSelections,
  MAX_LANGUAGE_SCALE,
  maskedLanguages,
  maskLanguages,
  parseLanguageList,
  parseLanguageScales,
  resolveSteering,
} from "../../src/atlas/steering-selection";
import { steeringFromIndexLists } from "../../src/engine/steering";
import { smallAtlas } from "./helpers";

test("masking languages gives their experts scale 0 in every group, as built by hand", () => {
  const atlas = smallAtlas();
  const r = resolveSteering(atlas, maskLanguages(["lua", "python"]), { unknown: "reject" });
  const want = steeringFromIndexLists([[0, 5, 1, 2, 3], [15]], 4, "by hand");
  assert.deepEqual(r.steering.groups, want.groups);
  assert.deepEqual(r.steering.groups[0], { indices: [0, 1, 2, 3, 5], scales: [0, 0, 0, 0, 0] });
  assert.equal(r.steering.key, want.key, "the key is the content's, whatever the label");
  assert.equal(r.steering.label, "−lua, −python");
  assert.deepEqual(r.applied, ["lua", "python"]);
  assert.deepEqual(r.ignored, []);
  const lua = resolveSteering(atlas, maskLanguages(["lua"]), { unknown: "reject" }).steering;
  assert.deepEqual(lua.groups[0]!.indices, [0, 5]);
  assert.notEqual(lua.key, r.steering.key, "different steering, different key");
  const reordered = resolveSteering(atlas, maskLanguages(["python", "lua"]), { unknown: "reject" });
  assert.equal(reordered.steering.key, r.steering.key, "the order of the selection does not matter");
});

test("graded scales: a language's experts scaled, the label says by how much", () => {
  const r = resolveSteering(smallAtlas(), { languages: { python: 1.5, lua: 0 } }, { unknown: "reject" });
  assert.deepEqual(r.steering.groups[0], { indices: [0, 1, 2, 3, 5], scales: [0, 1.5, 1.5, 1.5, 0] });
  assert.equal(r.steering.label, "python×1.5, −lua");
  assert.deepEqual(maskedLanguages({ languages: { python: 1.5, lua: 0 } }), ["lua"]);
  const unchanged = resolveSteering(smallAtlas(), { languages: { python: 1 } }, { unknown: "reject" });
  assert.equal(unchanged.steering.key, "", "scale 1 steers nothing");
});

test("unknown languages: refused with the atlas's languages, or ignored and reported", () => {
  assert.throws(
    () => resolveSteering(smallAtlas(), maskLanguages(["lua", "cobol"]), { unknown: "reject" }),
    /no experts for cobol; its languages are lua, python/,
  );
  const r = resolveSteering(smallAtlas(), maskLanguages(["lua", "cobol"]), { unknown: "ignore" });
  assert.deepEqual(r.applied, ["lua"]);
  assert.deepEqual(r.ignored, ["cobol"]);
  assert.equal(r.steering.label, "−lua");
  const none = resolveSteering(undefined, maskLanguages(["lua"]), { unknown: "ignore" });
  assert.deepEqual([none.steering.key, none.applied, none.ignored], ["", [], ["lua"]]);
  assert.equal(resolveSteering(smallAtlas(), {}, { unknown: "reject" }).steering.key, "");
});

test("language lists", () => {
  assert.deepEqual(parseLanguageList("python,lua"), ["python", "lua"]);
  assert.deepEqual(parseLanguageList(" python , python"), ["python"]);
  assert.throws(() => parseLanguageList("python,,lua"), /comma-separated/);
  assert.throws(() => parseLanguageList(""), /comma-separated/);
});

test("LANG=SCALE lists (--steer): scales parsed, bad ones refused with the reason", () => {
  assert.deepEqual(parseLanguageScales("python=0,rust=1.5"), { python: 0, rust: 1.5 });
  assert.deepEqual(parseLanguageScales(" lua = 2 , php=.5, c=1e-1"), { lua: 2, php: 0.5, c: 0.1 });
  assert.deepEqual(parseLanguageScales("lua=2,lua=2.0"), { lua: 2 }, "the same scale twice is fine");
  assert.throws(() => parseLanguageScales("python=-1"), /python=-1: a scale cannot be negative/);
  assert.throws(() => parseLanguageScales("python=inf"), /python=inf: the scale must be a finite number ≥ 0/);
  assert.throws(() => parseLanguageScales("python=Infinity"), /finite number/);
  assert.throws(() => parseLanguageScales("python=NaN"), /finite number/);
  assert.throws(() => parseLanguageScales("python=1e999"), /finite number/);
  assert.throws(() => parseLanguageScales("python=0x10"), /finite number/);
  assert.throws(() => parseLanguageScales("python="), /"python=" is not LANG=SCALE/);
  assert.throws(
    () => parseLanguageScales("python"),
    /"python" is not LANG=SCALE \(e\.g\. python=0,rust=1\.5\)/,
  );
  assert.throws(() => parseLanguageScales("=2"), /not LANG=SCALE/);
  assert.throws(() => parseLanguageScales("python=1,,rust=2"), /comma-separated list of LANG=SCALE/);
  assert.throws(() => parseLanguageScales("lua=1,lua=2"), /lua is given two scales \(1 and 2\)/);
  assert.throws(() => parseLanguageScales(`lua=${MAX_LANGUAGE_SCALE + 1}`), /at most 100/);
});

test("--mask and --steer together: masks are scale 0, a conflict is refused", () => {
  assert.deepEqual(combineLanguageSelections(["lua"], { python: 1.5 }), {
    languages: { python: 1.5, lua: 0 },
  });
  assert.deepEqual(combineLanguageSelections(["lua"], { lua: 0 }), { languages: { lua: 0 } });
  assert.throws(
    () => combineLanguageSelections(["lua"], { lua: 2 }),
    /lua is both masked .* and scaled to 2/,
  );
  const r = resolveSteering(
    smallAtlas(),
    combineLanguageSelections(["lua"], parseLanguageScales("python=3")),
    { unknown: "reject" },
  );
  assert.deepEqual(r.steering.groups[0], { indices: [0, 1, 2, 3, 5], scales: [0, 3, 3, 3, 0] });
  assert.deepEqual(r.steering.groups[1], { indices: [15], scales: [0] });
  assert.throws(
    () => resolveSteering(smallAtlas(), { languages: parseLanguageScales("cobol=2") }, { unknown: "reject" }),
    /no experts for cobol; its languages are lua, python/,
  );
});
