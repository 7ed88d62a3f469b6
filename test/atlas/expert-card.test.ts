import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readAtlasFile, writeAtlasFile } from "../../src/atlas/atlas-file";
import { contextsFromFiles, corpusContexts, expertScores, snippet } from "../../src/atlas/expert-contexts";
import { expertEffect } from "../../src/atlas/expert-effect";
import { expertOwner, formatExpertId, parseExpertId } from "../../src/atlas/expert-id";
import { expertProfile, openExpertStats, strongestExperts } from "../../src/atlas/expert-profile";
import { ExpertStatsBuilder } from "../../src/atlas/expert-stats";
import { SentencePieceTokenizer } from "../../src/tokenizer/tokenizer";
import { DEMO_MODEL } from "../helpers/fixtures";
import { smallAtlasWithControl } from "./helpers";

test("expert ids: gG:I:J, checked against the model's shape", () => {
  assert.deepEqual(parseExpertId("g0:359:356"), { group: 0, i: 359, j: 356 });
  assert.equal(formatExpertId({ group: 1, i: 2, j: 3 }), "g1:2:3");
  assert.throws(() => parseExpertId("0:359:356"), /not an expert id: write gGROUP:I:J/);
  assert.throws(() => parseExpertId("g2:1:1", { groups: 2, experts: 512 }), /no expert g2:1:1.*groups 0–1/);
  assert.throws(() => parseExpertId("g0:512:1", { groups: 2, experts: 512 }), /half-experts 0–511/);
});

test("snippet: the token with context, cut after a couple of lines, and its line number", () => {
  const text = "a\nb\nc\nd = foo(x)\ne\nf\ng\n";
  const at = text.indexOf("foo");
  const s = snippet(text, [at, at + 3], { chars: 100, lines: 1 });
  assert.deepEqual(s, { before: "c\nd = ", token: "foo", after: "(x)\ne", line: 4 });
});

/** The toy atlas (E = 4, 2 groups, H = 2) with statistics: classes lua, python, plaintext; contexts into `corpus`. */
function toyAtlasWithStats(dir: string, corpus: string) {
  const atlas = smallAtlasWithControl({ corpus: { ...smallAtlasWithControl().corpus, root: corpus } });
  const b = new ExpertStatsBuilder({
    groups: 2,
    heads: 2,
    experts: 4,
    classes: ["lua", "python", "plaintext"],
    contextsPerExpert: 3,
  });
  const file = (rel: string, text: string) => {
    mkdirSync(join(corpus, rel, ".."), { recursive: true });
    writeFileSync(join(corpus, rel), text);
    return { rel, sha256: createHash("sha256").update(text).digest("hex") };
  };
  const lua = "local x = 1\nreturn x\n";
  const a = b.addPiece(file("lua/a.lua", lua), 0, [
    [0, 0],
    [0, 5],
    [6, 7],
  ]);
  const prose = "The quick brown fox.\n";
  const p = b.addPiece(file("plaintext/a.txt", prose), 0, [
    [0, 0],
    [4, 9],
  ]);
  const gone = b.addPiece({ rel: "lua/gone.lua", sha256: "0".repeat(64) }, 0, [
    [0, 0],
    [0, 1],
  ]);
  // expert e = 5 (i 1, j 1) of group 0: lua's.
  b.contexts.offer(0, 5, 0.9, a.token(2), a.doc);
  b.contexts.offer(0, 5, 0.6, p.token(1), p.doc);
  b.contexts.offer(0, 5, 0.3, gone.token(1), gone.doc);
  const profile = (lua: number, py: number, txt: number) => [lua, py, txt];
  const means = (c: number) =>
    [0, 1].map((g) =>
      Float64Array.from({ length: 16 }, (_, e) => {
        // group 0: e5 lua 0.4 / python 0.1 / prose 0.1; e0 lua 0.2 / python 0.05 / prose 0.05; e1 python's
        const table: Record<number, number[]> = {
          5: profile(0.4, 0.1, 0.1),
          0: profile(0.2, 0.05, 0.05),
          1: profile(0.01, 0.3, 0.01),
        };
        return g === 0 ? (table[e]?.[c] ?? 0.001) : 0.001;
      }),
    );
  ["lua", "python", "plaintext"].forEach((cls, c) => {
    b.setProfile(cls, means(c), 100);
  });
  const path = join(dir, "toy.atlas.json");
  writeAtlasFile(path, { ...atlas, expertStats: b.finish(atlas.model.fingerprint) });
  return { path, atlas: readAtlasFile(path) };
}

test("an expert's profile against its pooled mean, a class's strongest experts, and contexts read from the corpus", () => {
  const dir = mkdtempSync(join(tmpdir(), "expert-card-"));
  try {
    const corpus = join(dir, "corpus");
    const { path, atlas } = toyAtlasWithStats(dir, corpus);
    assert.equal(atlas.stats?.file, "toy.atlas.experts.bin");
    assert.deepEqual(expertOwner(atlas, { group: 0, i: 1, j: 1 }), { id: "lua", kind: "language" });
    assert.deepEqual(expertOwner(atlas, { group: 0, i: 3, j: 0 }), { id: "plaintext", kind: "control" });
    assert.equal(expertOwner(atlas, { group: 0, i: 2, j: 2 }), null);
    const stats = openExpertStats(path, atlas);
    try {
      const p = expertProfile(atlas, stats, { group: 0, i: 1, j: 1 });
      assert.equal(p.expert, "g0:1:1");
      assert.deepEqual(p.owner, { id: "lua", kind: "language" });
      assert.ok(Math.abs(p.pooledMean - 0.2) < 1e-4, `${p.pooledMean}`);
      assert.ok(Math.abs(p.pooledShare - 0.1) < 1e-4, "pooled mean ÷ H");
      assert.deepEqual(
        p.classes.map((c) => c.id),
        ["lua", "python", "plaintext"],
      );
      assert.ok(Math.abs(p.classes[0]!.lift - 2) < 1e-3);
      assert.equal(p.classes[2]!.kind, "control");
      assert.equal(p.classes[0]!.baseline, 0.1, "lua's group-0 baseline");
      // lua owns e0 and e5 in group 0, e15 in group 1.
      const byScore = strongestExperts(atlas, stats, "lua", { top: 2 });
      assert.deepEqual(
        byScore.map((r) => r.expert),
        ["g0:1:1", "g0:0:0"],
      );
      assert.equal(byScore[0]!.next?.id, "python");
      assert.ok(Math.abs(byScore[0]!.ratio - 4) < 1e-3);
      const byLift = strongestExperts(atlas, stats, "lua", { top: 3, by: "lift" });
      assert.equal(byLift.length, 3);
      assert.ok(byLift[0]!.lift >= byLift[1]!.lift && byLift[1]!.lift >= byLift[2]!.lift);
      assert.throws(
        () => strongestExperts(atlas, stats, "cobol"),
        /no class cobol; its classes are lua, python, plaintext/,
      );
      const ctx = corpusContexts(path, atlas, stats, { group: 0, i: 1, j: 1 });
      assert.deepEqual(
        ctx.contexts.map((c) => [c.path, c.token, c.line]),
        [
          ["lua/a.lua", "x", 1],
          ["plaintext/a.txt", "quick", 1],
        ],
      );
      assert.deepEqual(ctx.missing, [`lua/gone.lua: not in ${corpus}`]);
      writeFileSync(join(corpus, "lua", "a.lua"), "local y = 2\n");
      assert.deepEqual(
        corpusContexts(path, atlas, stats, { group: 0, i: 1, j: 1 }).missing[0],
        "lua/a.lua: changed since the atlas was built",
      );
      const away = corpusContexts(
        path,
        atlas,
        stats,
        { group: 0, i: 1, j: 1 },
        { root: join(dir, "elsewhere") },
      );
      assert.equal(away.contexts.length, 0);
      assert.equal(away.refs.length, 3, "the references are there even without the corpus");
      assert.match(
        away.missing[0]!,
        /the atlas corpus is not available here .*elsewhere.*--corpus DIR, or rank this expert's tokens in your own files/,
      );
    } finally {
      stats.close();
    }
    const v1 = { ...atlas, stats: undefined };
    assert.throws(() => openExpertStats(path, v1), /has no expert statistics .*rebuild it/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("contexts from the user's own files: the expert's highest-scoring tokens, across files and pieces", async () => {
  const tokenizer = SentencePieceTokenizer.fromFile(join(DEMO_MODEL, "tokenizer.model"));
  const [H, E] = [2, 4];
  // A fake model: in group 0, head 0 routes g1 to i = 1 (weight digit/10) and g2 to j = 2 for a digit
  // token, else to (0, 0); head 1 always to (3, 3).
  const model = {
    tokenizer,
    config: { moeHeads: H, moeExperts: E, maxPositionEmbeddings: 64 },
    async route(text: string) {
      const { ids, spans } = tokenizer.encodeWithSpans(text);
      const T = ids.length;
      const g1 = new Float32Array(T * H * E);
      const g2 = new Float32Array(T * H * E);
      spans.forEach(([a, b], t) => {
        const tok = text.slice(a, b);
        const hit = t > 0 && /^[1-9]$/.test(tok);
        const w = hit ? Number(tok) / 10 : 1;
        g1[t * H * E + (hit ? 1 : 0)] = w;
        if (hit) g1[t * H * E] = 1 - w;
        g2[t * H * E + (hit ? 2 : 0)] = 1;
        g1[(t * H + 1) * E + 3] = 1;
        g2[(t * H + 1) * E + 3] = 1;
      });
      return { ids, spans, routing: { g1: [g1], g2: [g2] } };
    },
  };
  const dir = mkdtempSync(join(tmpdir(), "expert-own-"));
  try {
    writeFileSync(join(dir, "a.py"), `${"y = 1\n".repeat(40)}z = 7\n`);
    writeFileSync(join(dir, "b.lua"), "local x = 9\nlocal y = 8\nlocal w = 6\n");
    mkdirSync(join(dir, "sub"));
    writeFileSync(join(dir, "sub", "c.rs"), "fn main() {}\n");
    const x = { group: 0, i: 1, j: 2 };
    const r = await contextsFromFiles(model, [dir], x, { top: 3, perFile: 2, segmentTokens: 24 });
    assert.equal(r.files, 3);
    assert.ok(r.tokens > 60, `${r.tokens} tokens`);
    assert.deepEqual(
      r.contexts.map((c) => [c.path.slice(dir.length + 1), c.token.trim()]),
      [
        ["b.lua", "9"],
        ["b.lua", "8"],
        ["a.py", "7"],
      ],
    );
    assert.deepEqual(
      r.contexts.map((c) => +c.score.toFixed(3)),
      [0.9, 0.8, 0.7],
    );
    assert.equal(r.contexts[2]!.line, 41);
    const scores = expertScores((await model.route("a 5")).routing, x, H, E);
    assert.deepEqual(
      Array.from(scores).map((s) => +s.toFixed(3)),
      [0, 0, 0, 0.5],
    );
    await assert.rejects(contextsFromFiles(model, [join(dir, "nope")], x), /no such file or folder/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("effect here: the exact next-token change with one expert scaled, from a logits callback", async () => {
  const calls: unknown[] = [];
  // Switching g0:1:2 off moves mass from token 2 to token 3.
  const logitsWith = async (s: { group: number; i: number; j: number; scale: number } | null) => {
    calls.push(s);
    return s
      ? Float32Array.of(0, 0, Math.log(1), Math.log(3))
      : Float32Array.of(0, 0, Math.log(3), Math.log(1));
  };
  const fx = await expertEffect(
    logitsWith,
    { group: 0, i: 1, j: 2 },
    {
      top: 2,
      piece: (id) => `t${id}`,
      continueWith: async (s) => (s ? "steered" : "plain"),
    },
  );
  assert.deepEqual(calls, [null, { group: 0, i: 1, j: 2, scale: 0 }]);
  assert.equal(fx.expert, "g0:1:2");
  assert.equal(fx.scale, 0);
  // before: [1,1,3,1]/6, after: [1,1,1,3]/6
  assert.equal(fx.top1.before.id, 2);
  assert.equal(fx.top1.after.id, 3);
  assert.deepEqual(
    fx.up.map((t) => [t.piece, +t.delta.toFixed(4)]),
    [["t3", 0.3333]],
  );
  assert.deepEqual(
    fx.down.map((t) => [t.piece, +t.delta.toFixed(4)]),
    [["t2", -0.3333]],
  );
  const kl = (3 / 6) * Math.log(3) + (1 / 6) * Math.log(1 / 3);
  assert.ok(Math.abs(fx.kl - kl) < 1e-6, `${fx.kl} vs ${kl}`);
  assert.deepEqual(fx.continuation, { before: "plain", after: "steered" });
  const same = await expertEffect(
    async () => Float32Array.of(1, 2, 3),
    { group: 0, i: 0, j: 0 },
    { scale: 1.5 },
  );
  assert.equal(same.kl, 0);
  assert.deepEqual([same.up, same.down], [[], []]);
  await assert.rejects(
    expertEffect(logitsWith, { group: 0, i: 0, j: 0 }, { scale: -1 }),
    /scale must be a number ≥ 0/,
  );
});
