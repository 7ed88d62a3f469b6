// What the build keeps besides the expert sets, checked on the demo model with a tiny
// budget (two languages and the prose control class, 256 tokens each): the baselines are
// the mean shares over the build's own tokens (the linear identity of baselines.ts), every
// token carries routing mass H per group, and the expert statistics (profile, top contexts)
// agree with the routing the build saw.
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Engine, type RoutedText } from "../../src/engine/engine";
import { atlasClasses, readAtlasFile, writeAtlasFile, type Atlas } from "../../src/atlas/atlas-file";
import { buildAtlas } from "../../src/atlas/build";
import { expertScores } from "../../src/atlas/expert-contexts";
import { openExpertStats } from "../../src/atlas/expert-profile";
import { expertOwners, tokenShares } from "../../src/atlas/route-shares";
import { DEMO_MODEL, SHARED, TEST_CACHE } from "../helpers/fixtures";

const CORPUS = join(SHARED, "corpus");

describe("the build's baselines and expert statistics (demo model)", () => {
  let engine: Engine;
  let atlas: Atlas;
  let path: string;
  let dir: string;
  const routed: Array<{ text: string; r: RoutedText }> = [];
  before(async () => {
    engine = await Engine.open({ modelDir: DEMO_MODEL, ep: "cpu", cacheDir: TEST_CACHE });
    const recording = {
      tokenizer: engine.tokenizer,
      routingGroups: engine.routingGroups,
      config: engine.config,
      route: async (text: string) => {
        const r = await engine.route(text);
        routed.push({ text, r });
        return r;
      },
    };
    const built = await buildAtlas(recording, {
      corpusDir: CORPUS,
      model: engine.identity,
      languages: ["lua", "rust"],
      maxTokensPerLanguage: 256,
      minTokens: 64,
      contextsPerExpert: 3,
    });
    dir = mkdtempSync(join(tmpdir(), "atlas-stats-"));
    path = join(dir, "s.atlas.json");
    writeAtlasFile(path, built);
    atlas = readAtlasFile(path);
  });
  after(async () => {
    await engine.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("reads the prose control class, labels it, and keeps it out of the languages", () => {
    assert.deepEqual(atlas.languages, ["lua", "rust"]);
    assert.deepEqual(atlas.controls, ["plaintext"]);
    assert.ok(atlas.controlSets.get("plaintext")!.every((s) => s.length > 0));
    assert.ok(atlas.corpus.languages.plaintext!.tokens >= 240);
    assert.equal(atlas.stats?.file, "s.atlas.experts.bin");
  });

  it("each class's baseline is its mean share over every token the build routed, all classes pooled", () => {
    const owners = expertOwners(atlas);
    const classes = atlasClasses(atlas);
    const G = engine.routingGroups;
    const H = engine.config.moeHeads;
    const sum = Array.from({ length: G }, () => new Float64Array(classes.length));
    let n = 0;
    for (const { r } of routed) {
      for (let t = 1; t < r.ids.length; t++) {
        const s = tokenShares(r.routing, r.shape, t, owners, undefined, 0);
        s.groupShares.forEach((gs, g) => {
          gs.forEach((x, c) => {
            sum[g]![c]! += x;
          });
        });
        n++;
        // The mass of every token in every group is H: Σ_h Σ_i g1 · Σ_j g2 = H.
        for (let g = 0; g < G; g++) {
          let mass = 0;
          for (let h = 0; h < H; h++) {
            let a = 0;
            let b = 0;
            for (let e = 0; e < engine.config.moeExperts; e++) {
              a += r.routing.g1[g]![(t * H + h) * engine.config.moeExperts + e]!;
              b += r.routing.g2[g]![(t * H + h) * engine.config.moeExperts + e]!;
            }
            mass += a * b;
          }
          assert.ok(Math.abs(mass - H) < 1e-4, `token mass ${mass}`);
        }
      }
    }
    assert.equal(
      n,
      classes.reduce((k, c) => k + atlas.corpus.languages[c]!.tokens, 0),
    );
    classes.forEach((c, ci) => {
      for (let g = 0; g < G; g++) {
        const want = sum[g]![ci]! / n;
        const got = atlas.baselines!.get(c)![g]!;
        // Equal up to the float32 rounding of the router's softmax (a token's mass is H ± 1e-6).
        assert.ok(
          Math.abs(got - want) <= 1e-6 * want,
          `${c} group ${g}: baseline ${got}, mean share ${want}`,
        );
        assert.ok(got > 0.005 && got < 0.5, `${c} group ${g}: ${got}`);
      }
    });
  });

  it("the profile's pooled means sum to H per group, and each top context is a real token with its exact score", () => {
    const stats = openExpertStats(path, atlas);
    try {
      const E = engine.config.moeExperts;
      const H = engine.config.moeHeads;
      for (let g = 0; g < engine.routingGroups; g++) {
        const C = stats.classes.length;
        const p = stats.groupProfile(g);
        let total = 0;
        for (let e = 0; e < E * E; e++)
          if (p.subarray(e * C, (e + 1) * C).some((code) => code > 0))
            total += stats.pooledMean(stats.profile(g, e));
        assert.ok(Math.abs(total - H) < 2e-3 * H, `group ${g}: Σ pooled means ${total}`);
      }
      // The strongest expert of the first rust token: its contexts are real tokens of the corpus.
      const { r } = routed.find((x) => x.r.ids.length > 10)!;
      const t = 5;
      let best = { g: 0, i: 0, j: 0, s: -1 };
      for (let g = 0; g < engine.routingGroups; g++)
        for (let i = 0; i < E; i++)
          for (let j = 0; j < E; j++) {
            let s = 0;
            for (let h = 0; h < H; h++)
              s += r.routing.g1[g]![(t * H + h) * E + i]! * r.routing.g2[g]![(t * H + h) * E + j]!;
            if (s > best.s) best = { g, i, j, s };
          }
      const x = { group: best.g, i: best.i, j: best.j };
      const refs = stats.contexts(x.group, x.i * E + x.j);
      assert.ok(refs.length >= 1 && refs.length <= 3);
      // Its best score over everything routed is the first context's.
      let max = 0;
      for (const { r: q } of routed)
        for (const s of expertScores(q.routing, x, H, E).subarray(1)) max = Math.max(max, s);
      assert.ok(Math.abs(refs[0]!.score / max - 1) < 5e-4, `top context ${refs[0]!.score}, max ${max}`);
      for (const ref of refs) {
        const bytes = readFileSync(join(CORPUS, ref.path));
        assert.equal(createHash("sha256").update(bytes).digest("hex"), ref.sha256);
        const text = bytes.toString("utf8");
        // Find the piece that holds this token and recompute the score there.
        const hit = routed.find(({ text: piece }) => {
          const at = text.indexOf(piece);
          return at >= 0 && at <= ref.span[0] && ref.span[1] <= at + piece.length;
        });
        assert.ok(hit, `${ref.path} ${ref.span}: no routed piece holds it`);
        const at = text.indexOf(hit.text);
        const k = hit.r.spans.findIndex(
          ([a, b], idx) => idx > 0 && a + at === ref.span[0] && b + at === ref.span[1],
        );
        assert.ok(k > 0, "the span is a token of the piece");
        const s = expertScores(hit.r.routing, x, H, E)[k]!;
        assert.ok(Math.abs(ref.score / s - 1) < 5e-4, `score ${ref.score} vs ${s}`);
      }
    } finally {
      stats.close();
    }
  });
});
