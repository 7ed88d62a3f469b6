import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { writeAtlasFile } from "../../src/atlas/atlas-file";
import { listAtlases } from "../../src/atlas/atlas-store";
import { atlasQuality, QUALITY, qualityLines } from "../../src/atlas/quality";
import { smallAtlas, smallAtlasWithControl } from "./helpers";

/** smallAtlasWithControl with E = 32 (1,024 experts per group), plenty of tokens and plausible set sizes. */
function healthy() {
  const a = smallAtlasWithControl();
  const range = (from: number, n: number) => Uint32Array.from({ length: n }, (_, k) => from + k);
  const tokens = (n: number) => ({ files: 9, heldOutFiles: 2, filesRead: 9, tokens: n, bytes: 4 * n });
  return smallAtlasWithControl({
    model: { ...a.model, config: { ...a.model.config, moeExperts: 32 } },
    corpus: {
      ...a.corpus,
      languages: { lua: tokens(8192), python: tokens(8192), plaintext: tokens(8192) },
    },
    sets: new Map([
      ["lua", [range(0, 30), range(0, 20)]],
      ["python", [range(100, 40), range(100, 20)]],
    ]),
    controlSets: new Map([["plaintext", [range(200, 25), range(200, 25)]]]),
  });
}

test("an atlas from enough tokens with plausible sets is of good quality", () => {
  const q = atlasQuality(healthy());
  assert.equal(q.level, "ok", qualityLines(q).join("; "));
  assert.deepEqual(q.classes.lua, {
    kind: "language",
    tokens: 8192,
    expertShare: [30 / 1024, 20 / 1024],
    notes: [],
  });
  assert.equal(q.classes.plaintext!.kind, "control");
  assert.deepEqual(qualityLines(q), []);
});

test("few tokens, an implausible share of experts, or too few classes make an atlas low quality, with reasons", () => {
  const base = healthy();
  const few = atlasQuality({
    ...base,
    corpus: {
      ...base.corpus,
      languages: { ...base.corpus.languages, lua: { ...base.corpus.languages.lua!, tokens: 1500 } },
    },
  });
  assert.equal(few.level, "low");
  assert.deepEqual(few.classes.lua!.notes, [
    `few tokens (1,500 < ${QUALITY.fewTokens.toLocaleString("en-US")}): labels unreliable`,
  ]);
  const greedy = atlasQuality({
    ...base,
    sets: new Map([
      ...base.sets,
      ["python", [Uint32Array.from({ length: 200 }, (_, k) => 300 + k), Uint32Array.of()]],
    ]),
  });
  assert.equal(greedy.level, "low");
  assert.match(greedy.classes.python!.notes[0]!, /owns 19\.5 % of a group's experts \(more than 8\.0 %\)/);
  // The workspace case of issue 16: two languages, no control class, a few files.
  const small = atlasQuality(
    smallAtlas({
      corpus: {
        ...smallAtlas().corpus,
        omitted: { javascript: "312 training tokens, fewer than --min-tokens 1024" },
      },
    }),
  );
  assert.equal(small.level, "low");
  assert.match(small.notes.join("\n"), /only 2 classes/);
  assert.match(small.notes.join("\n"), /left out \(too few tokens\): javascript \(312 tokens\)/);
  assert.match(small.notes.join("\n"), /no control class/);
});

test("listAtlases: shipped, workspace (newest first) and named files, with quality, usability and why not", () => {
  const dir = mkdtempSync(join(tmpdir(), "atlas-list-"));
  try {
    const shipped = join(dir, "shipped");
    const ws = join(dir, "ws");
    mkdirSync(shipped);
    mkdirSync(ws);
    const good = healthy();
    writeAtlasFile(join(shipped, "toy.atlas.json"), good);
    writeAtlasFile(join(shipped, "other.atlas.json"), {
      ...good,
      model: { ...good.model, fingerprint: "0".repeat(64) },
    });
    // Low-quality atlases of the same model (same fingerprint and shape: checkAtlasModel refuses a mismatch).
    const weak = { ...smallAtlas(), model: good.model };
    writeAtlasFile(join(ws, "old.atlas.json"), weak);
    writeAtlasFile(join(ws, "new.atlas.json"), weak);
    writeFileSync(join(ws, "broken.atlas.json"), "{");
    utimesSync(join(ws, "old.atlas.json"), new Date(1e12), new Date(1e12));
    utimesSync(join(ws, "broken.atlas.json"), new Date(2e12), new Date(2e12));
    utimesSync(join(ws, "new.atlas.json"), new Date(3e12), new Date(3e12));
    const list = listAtlases(good.model, {
      shippedDir: shipped,
      workspaceDirs: [ws, join(dir, "missing")],
      files: [
        join(shipped, "other.atlas.json"),
        join(dir, "nowhere.atlas.json"),
        join(shipped, "toy.atlas.json"),
      ],
    });
    const rows = list.map((c) => [
      c.source,
      c.path.slice(dir.length + 1),
      c.usable,
      c.quality?.level ?? null,
    ]);
    assert.deepEqual(rows, [
      ["shipped", "shipped/toy.atlas.json", true, "ok"],
      ["workspace", "ws/new.atlas.json", true, "low"],
      ["workspace", "ws/broken.atlas.json", false, null],
      ["workspace", "ws/old.atlas.json", true, "low"],
      ["file", "shipped/other.atlas.json", false, "ok"],
      ["file", "nowhere.atlas.json", false, null],
    ]);
    assert.match(list[2]!.problem!, /damaged/);
    assert.match(list[4]!.problem!, /built for the model/);
    assert.match(list[5]!.problem!, /no such atlas file/);
    assert.deepEqual(list[0]!.tokens, { lua: 8192, python: 8192, plaintext: 8192 });
    assert.deepEqual(
      [list[0]!.languages, list[0]!.controls, list[0]!.hasBaselines, list[0]!.hasExpertStats],
      [["lua", "python"], ["plaintext"], true, false],
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
