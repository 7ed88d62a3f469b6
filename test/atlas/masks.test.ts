import { test } from "node:test";
import assert from "node:assert/strict";
import { masksFromExperts } from "../../src/engine/masks";
import { atlasMasks, parseLanguageList } from "../../src/atlas/masks";
import { smallAtlas } from "./helpers";

test("masks from an atlas equal masks built by hand, in every group", () => {
  const atlas = smallAtlas();
  const got = atlasMasks(atlas, ["lua", "python"]);
  const want = masksFromExperts([[0, 5, 1, 2, 3], [15]], 4, "lua, python");
  assert.deepEqual(got.groups, want.groups);
  assert.equal(got.key, want.key);
  assert.equal(got.label, "lua, python");
  assert.equal(got.groups[0]![5], 1);
  assert.equal(got.groups[1]![15], 1);
  assert.equal(
    got.groups[1]!.reduce((a, b) => a + b, 0),
    1,
  );
  const lua = atlasMasks(atlas, ["lua"]);
  assert.deepEqual(
    [...lua.groups[0]!].flatMap((v, e) => (v ? [e] : [])),
    [0, 5],
  );
  assert.notEqual(lua.key, got.key, "different mask states have different keys");
});

test("unknown languages are refused with the atlas's languages", () => {
  assert.throws(
    () => atlasMasks(smallAtlas(), ["lua", "cobol"]),
    /no experts for cobol; its languages are lua, python/,
  );
});

test("language lists", () => {
  assert.deepEqual(parseLanguageList("python,lua"), ["python", "lua"]);
  assert.deepEqual(parseLanguageList(" python , python"), ["python"]);
  assert.throws(() => parseLanguageList("python,,lua"), /comma-separated/);
  assert.throws(() => parseLanguageList(""), /comma-separated/);
});
