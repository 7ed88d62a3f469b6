// The atlas on the embedded demo model with a tiny corpus budget (../shared/corpus): it
// labels experts for every language, masking a language's experts raises its own
// held-out loss more than another language's, and routing shares point at the language.
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Engine } from "../../src/engine/engine";
import { readAtlasFile, writeAtlasFile, type Atlas } from "../../src/atlas/atlas-file";
import { buildAtlas } from "../../src/atlas/build";
import { budgetOrder, byLanguage, readSource, scanCorpus, splitFiles } from "../../src/atlas/corpus";
import { deltaTable, evaluateAtlas } from "../../src/atlas/evaluate";
import { expertOwners, routeJson } from "../../src/atlas/route-shares";
import { maskLanguages, resolveSteering } from "../../src/atlas/steering-selection";
import { CancelledError } from "../../src/engine/errors";
import { DEMO_MODEL, SHARED, TEST_CACHE } from "../helpers/fixtures";

const CORPUS = join(SHARED, "corpus");
const LANGS = ["lua", "php", "python", "rust"];

describe("atlas on the demo model", () => {
  let engine: Engine;
  let atlas: Atlas;
  before(async () => {
    engine = await Engine.open({ modelDir: DEMO_MODEL, ep: "cpu", cacheDir: TEST_CACHE });
    atlas = await buildAtlas(engine, {
      corpusDir: CORPUS,
      model: engine.identity,
      languages: LANGS,
      maxTokensPerLanguage: 1024,
      minTokens: 256,
    });
  });
  after(async () => engine.close());

  it("labels a few percent of each group's experts for every language, disjointly", () => {
    assert.deepEqual(atlas.languages, LANGS);
    const cells = engine.config.moeExperts ** 2;
    for (let g = 0; g < engine.routingGroups; g++) {
      const seen = new Set<number>();
      for (const lang of LANGS) {
        const set = atlas.sets.get(lang)![g]!;
        assert.ok(
          set.length > cells * 0.002 && set.length < cells * 0.2,
          `${lang}, group ${g}: ${set.length} experts`,
        );
        for (const e of set) {
          assert.ok(!seen.has(e), `expert ${e} labelled twice`);
          seen.add(e);
        }
      }
    }
    for (const lang of LANGS) {
      const st = atlas.corpus.languages[lang]!;
      assert.ok(st.tokens >= 1000 && st.tokens <= 1100, `${lang}: ${st.tokens} tokens`);
      assert.ok(st.filesRead >= 1 && st.heldOutFiles >= 1);
    }
    assert.equal(atlas.model.fingerprint, engine.identity.fingerprint);
  });

  it("never reads a held-out file, and round-trips through its file", () => {
    const all = byLanguage(scanCorpus(CORPUS).files);
    for (const lang of LANGS) {
      const { heldOut } = splitFiles(all.get(lang)!, atlas.corpus.split);
      for (const f of heldOut)
        assert.ok(!atlas.corpus.seen.includes(readSource(f)!.hash), `${f.rel} was read`);
    }
    const dir = mkdtempSync(join(tmpdir(), "atlas-demo-"));
    try {
      writeAtlasFile(join(dir, "a.atlas.json"), atlas);
      assert.deepEqual(readAtlasFile(join(dir, "a.atlas.json")).sets, atlas.sets);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("masking a language's experts raises its own held-out loss more than another language's", async () => {
    const r = await evaluateAtlas(engine, {
      corpusDir: CORPUS,
      atlas,
      languages: ["lua", "php"],
      masks: ["lua", "php"],
      maxTokensPerLanguage: 384,
    });
    const t = deltaTable(r);
    const d = (row: string, col: string) => t.delta[t.rows.indexOf(row)]![t.cols.indexOf(col)]!;
    assert.ok(d("lua", "lua") > 0.02, `Δ lua|lua ${d("lua", "lua")}`);
    assert.ok(d("php", "php") > 0.02, `Δ php|php ${d("php", "php")}`);
    assert.ok(
      d("lua", "lua") > d("php", "lua"),
      `lua masked: lua +${d("lua", "lua")}, php +${d("php", "lua")}`,
    );
    assert.ok(
      d("php", "php") > d("lua", "php"),
      `php masked: php +${d("php", "php")}, lua +${d("lua", "php")}`,
    );
    for (const lang of ["lua", "php"])
      assert.ok(r.none[lang]! > 0.1 && r.none[lang]! < 5, `CE ${lang} ${r.none[lang]}`);
  });

  it("routing shares of held-out Lua code point at Lua, and vanish under Lua's mask", async () => {
    const all = byLanguage(scanCorpus(CORPUS).files);
    const file = budgetOrder(splitFiles(all.get("lua")!, atlas.corpus.split).heldOut)[0]!;
    const text = readSource(file)!.text.slice(0, 1500);
    const owners = expertOwners(atlas);
    const json = routeJson({
      model: engine.modelDir,
      atlasPath: null,
      text,
      routed: await engine.route(text),
      owners,
    });
    const mean = LANGS.map((_, l) => json.tokens.reduce((s, t) => s + t.shares[l]!, 0) / json.tokens.length);
    const lua = mean[LANGS.indexOf("lua")]!;
    assert.ok(
      mean.every((m, l) => LANGS[l] === "lua" || m < lua),
      `mean shares ${LANGS.map((l, k) => `${l} ${mean[k]!.toFixed(3)}`).join(", ")}`,
    );
    for (const t of json.tokens) {
      assert.equal(text.slice(t.span[0], t.span[1]), t.text);
      assert.ok(t.shares.reduce((a, b) => a + b, 0) <= 1 + 1e-6);
    }
    const { steering } = resolveSteering(atlas, maskLanguages(["lua"]), { unknown: "reject" });
    const masked = routeJson({
      model: engine.modelDir,
      atlasPath: null,
      text,
      routed: await engine.route(text, steering),
      owners,
      steering,
      masked: ["lua"],
    });
    assert.ok(masked.tokens.every((t) => t.shares[LANGS.indexOf("lua")] === 0));
    assert.deepEqual(masked.masked, ["lua"]);
  });

  it("leaves out languages below --min-tokens, and stops when cancelled", async () => {
    await assert.rejects(
      buildAtlas(engine, {
        corpusDir: CORPUS,
        model: engine.identity,
        languages: ["lua"],
        maxTokensPerLanguage: 100,
        minTokens: 500,
      }),
      /no language has --min-tokens 500/,
    );
    const controller = new AbortController();
    let passes = 0;
    await assert.rejects(
      buildAtlas(engine, {
        corpusDir: CORPUS,
        model: engine.identity,
        languages: ["lua", "php"],
        maxTokensPerLanguage: 2048,
        signal: controller.signal,
        onProgress: () => {
          passes++;
          controller.abort();
        },
      }),
      CancelledError,
    );
    assert.equal(passes, 1, "no forward pass after the abort");
  });
});
