import { test } from "node:test";
import assert from "node:assert/strict";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join, relative, resolve } from "node:path";
import {
  AtlasError,
  atlasClasses,
  atlasCorpusRoot,
  checkAtlasModel,
  classSets,
  parseAtlas,
  readAtlasFile,
  serializeAtlas,
  writeAtlasFile,
} from "../../src/atlas/atlas-file";
import { findAtlas } from "../../src/atlas/atlas-store";
import { decodeExpertSet, encodeExpertSet } from "../../src/atlas/expert-set";
import { smallAtlas, smallAtlasWithControl } from "./helpers";

const tmp = () => mkdtempSync(join(tmpdir(), "atlas-file-"));

test("expert sets round-trip through the compact form, including large gaps", () => {
  const sets = [[], [0], [262143], [0, 1, 2, 127, 128, 16383, 16384, 200000, 262143]];
  for (const s of sets) assert.deepEqual([...decodeExpertSet(encodeExpertSet(s), 262144)], s);
  assert.equal(
    encodeExpertSet([3, 10, 40]),
    Buffer.from([3, 7, 30]).toString("base64"),
    "gaps, one byte each",
  );
  assert.throws(() => encodeExpertSet([3, 3]), /distinct, sorted/);
  assert.throws(() => encodeExpertSet([5, 4]), /distinct, sorted/);
  assert.throws(() => decodeExpertSet(encodeExpertSet([300]), 256), /out of range/);
  assert.throws(() => decodeExpertSet(Buffer.from([0x80]).toString("base64"), 256), /truncated/);
  assert.throws(() => decodeExpertSet("@@@@", 256), /base64/);
});

test("an atlas round-trips through its file", () => {
  const dir = tmp();
  try {
    const atlas = smallAtlas({ buildSeconds: 12.5 });
    const path = join(dir, "toy.atlas.json");
    writeAtlasFile(path, atlas);
    const back = readAtlasFile(path);
    const rootFromAtlas = relative(dir, "/corpus");
    assert.deepEqual(back, { ...atlas, corpus: { ...atlas.corpus, rootFromAtlas } });
    // The corpus is found from the atlas file wherever the command runs, and --corpus overrides it.
    mkdirSync(join(dir, "corpus"));
    const moved = { ...back, corpus: { ...back.corpus, root: "corpus-as-typed", rootFromAtlas: "corpus" } };
    assert.equal(atlasCorpusRoot(path, moved), join(dir, "corpus"));
    assert.equal(atlasCorpusRoot(path, moved, "/else"), "/else");
    assert.equal(
      atlasCorpusRoot(path, { corpus: { ...moved.corpus, rootFromAtlas: undefined } }),
      resolve("corpus-as-typed"),
    );
    const json = JSON.parse(readFileSync(path, "utf8"));
    assert.equal(json.format, "monet-lens-atlas");
    assert.equal(json.version, 2);
    assert.deepEqual(json.groups[0].python, { count: 3, experts: encodeExpertSet([1, 2, 3]) });
    assert.deepEqual(json.controls, []);
    assert.equal(json.quality.level, "low", "informative quality, recomputed by readers");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("damaged, foreign and future atlas files are refused with clear messages", () => {
  const good = JSON.parse(serializeAtlas(smallAtlas()));
  const check = (json: unknown, pattern: RegExp) =>
    assert.throws(
      () => parseAtlas(typeof json === "string" ? json : JSON.stringify(json), "x.atlas.json"),
      (e: unknown) =>
        e instanceof AtlasError && pattern.test(e.message) && e.message.startsWith("x.atlas.json: "),
    );
  check(serializeAtlas(smallAtlas()).slice(0, 200), /damaged.*not valid JSON/);
  check({ hello: 1 }, /not a Monet Lens atlas/);
  check({ ...good, version: 3 }, /version 3.*reads versions 1 and 2; update Monet Lens or rebuild/);
  check({ ...good, version: "1" }, /version 1.*rebuild/);
  check({ ...good, groups: [good.groups[0]] }, /damaged.*2 routing groups/);
  const badSet = structuredClone(good);
  badSet.groups[1].lua.experts = encodeExpertSet([16]);
  check(badSet, /damaged.*group 1, lua: expert index 16 is out of range/);
  const badCount = structuredClone(good);
  badCount.groups[0].lua.count = 3;
  check(badCount, /damaged.*2 experts, but the count says 3/);
  const overlap = structuredClone(good);
  overlap.groups[0].python.experts = encodeExpertSet([1, 5]);
  overlap.groups[0].python.count = 2;
  check(overlap, /damaged.*expert 5 is in both lua and python/);
  const missing = structuredClone(good);
  delete missing.groups[0].python;
  check(missing, /damaged.*group 0 has no expert set for python/);
  assert.throws(() => readAtlasFile("/nonexistent/a.atlas.json"), /no such atlas file/);
});

test("version 2: control classes, baselines and the statistics' reference round-trip; a control set may not overlap a language's", () => {
  const atlas = smallAtlasWithControl({
    stats: { file: "toy.atlas.experts.bin", id: "c".repeat(64), bytes: 123 },
    buildSeconds: 3,
  });
  const back = parseAtlas(serializeAtlas(atlas), "toy.atlas.json");
  assert.deepEqual(back, atlas);
  assert.deepEqual(atlasClasses(back), ["lua", "python", "plaintext"]);
  assert.deepEqual([...classSets(back, "plaintext")![0]!], [7, 12]);
  assert.equal(classSets(back, "cobol"), undefined);
  const good = JSON.parse(serializeAtlas(atlas));
  const check = (json: unknown, pattern: RegExp) =>
    assert.throws(() => parseAtlas(JSON.stringify(json), "x.atlas.json"), pattern);
  const overlap = structuredClone(good);
  overlap.groups[0].plaintext = { count: 1, experts: encodeExpertSet([5]) };
  check(overlap, /expert 5 is in both lua and plaintext/);
  check({ ...good, controls: ["lua"] }, /"lua" is both a language and a control class/);
  check({ ...good, baselines: { ...good.baselines, lua: [0.1] } }, /"baselines" has no valid entry for lua/);
  check({ ...good, stats: { ...good.stats, file: "../x.bin" } }, /invalid "stats"/);
  const noPlain = structuredClone(good);
  delete noPlain.groups[1].plaintext;
  check(noPlain, /group 1 has no expert set for plaintext/);
});

test("version 1 files are still read: no control classes, no baselines, no statistics", () => {
  const v1 = JSON.parse(serializeAtlas(smallAtlas()));
  v1.version = 1;
  delete v1.controls;
  delete v1.quality;
  const atlas = parseAtlas(JSON.stringify(v1), "old.atlas.json");
  assert.deepEqual(atlas.languages, ["lua", "python"]);
  assert.deepEqual(atlas.controls, []);
  assert.equal(atlas.controlSets.size, 0);
  assert.equal(atlas.baselines, undefined);
  assert.equal(atlas.stats, undefined);
  assert.deepEqual(atlas.sets, smallAtlas().sets);
});

test("an atlas refuses another model, naming both", () => {
  const atlas = smallAtlas();
  const other = { ...atlas.model, name: "other-model", fingerprint: "a".repeat(64) };
  assert.throws(
    () => checkAtlasModel(atlas, other, "toy.atlas.json"),
    /toy\.atlas\.json was built for the model "toy" \(fingerprint ffffffffffff….*"other-model" \(fingerprint aaaaaaaaaaaa…\).*atlas build/,
  );
  checkAtlasModel(atlas, atlas.model, "toy.atlas.json");
});

test("atlases are written atomically: no temporary file left, and a failed write keeps the old file", () => {
  const dir = tmp();
  try {
    const path = join(dir, "toy.atlas.json");
    writeAtlasFile(path, smallAtlas());
    const before = readFileSync(path, "utf8");
    assert.deepEqual(readdirSync(dir), ["toy.atlas.json"]);
    const failing = (p: string, data: string | Uint8Array) => {
      writeFileSync(p, String(data).slice(0, 50)); // half written, then the disk fills up
      throw Object.assign(new Error("ENOSPC: no space left on device"), { code: "ENOSPC" });
    };
    assert.throws(
      () => writeAtlasFile(path, smallAtlas({ languages: ["lua", "python"], createdAt: "later" }), failing),
      /ENOSPC/,
    );
    assert.equal(readFileSync(path, "utf8"), before, "the old atlas is intact");
    assert.deepEqual(readdirSync(dir), ["toy.atlas.json"], "no temporary file left");
    // A write into a new folder creates it.
    writeAtlasFile(join(dir, "sub", "new.atlas.json"), smallAtlas());
    assert.ok(existsSync(join(dir, "sub", "new.atlas.json")));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("findAtlas: an explicit file is checked, else a shipped atlas for the same model is found", () => {
  const dir = tmp();
  try {
    const atlas = smallAtlas();
    writeAtlasFile(join(dir, "b-toy.atlas.json"), atlas);
    writeAtlasFile(
      join(dir, "a-other.atlas.json"),
      smallAtlas({ model: { ...atlas.model, name: "other", fingerprint: "0".repeat(64) } }),
    );
    writeFileSync(join(dir, "broken.atlas.json"), "{");
    const found = findAtlas(atlas.model, undefined, dir);
    assert.equal(found?.path, join(dir, "b-toy.atlas.json"));
    assert.equal(findAtlas({ ...atlas.model, fingerprint: "9".repeat(64) }, undefined, dir), undefined);
    assert.throws(
      () => findAtlas(atlas.model, join(dir, "a-other.atlas.json"), dir),
      /built for the model "other"/,
    );
    assert.throws(() => findAtlas(atlas.model, join(dir, "broken.atlas.json"), dir), /damaged/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
