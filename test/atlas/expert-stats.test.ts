import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  dequantizeScore,
  ExpertStatsBuilder,
  ExpertStatsFile,
  quantizeScore,
  serializeExpertStats,
  statsPathFor,
  writeExpertStats,
} from "../../src/atlas/expert-stats";

test("log-u16 quantization: 0 stays 0, and every value from 1e-12 to 256 comes back within 0.03 %", () => {
  assert.equal(quantizeScore(0), 0);
  assert.equal(dequantizeScore(0), 0);
  for (let x = 1e-12; x <= 256; x *= 1.37) {
    const back = dequantizeScore(quantizeScore(x));
    assert.ok(Math.abs(back / x - 1) < 3e-4, `${x} → ${back}`);
  }
  assert.equal(quantizeScore(1e-30), 1, "below the range: the smallest code, not 0");
  assert.equal(quantizeScore(1e6), 65535);
  assert.equal(statsPathFor("/a/b/demo.atlas.json"), "/a/b/demo.atlas.experts.bin");
});

/** E = 3 (9 experts), 2 groups, 2 heads, classes lua and plaintext, 2 contexts per expert. */
function toyStats() {
  const b = new ExpertStatsBuilder({
    groups: 2,
    heads: 2,
    experts: 3,
    classes: ["lua", "plaintext"],
    contextsPerExpert: 2,
  });
  const refs = b.addPiece({ rel: "lua/a.lua", sha256: "a".repeat(64) }, 100, [
    [0, 0],
    [0, 5],
    [5, 9],
  ]);
  assert.deepEqual([refs.token(1), refs.token(2), refs.doc], [0, 1, 0]);
  const refs2 = b.addPiece({ rel: "plaintext/b.txt", sha256: "b".repeat(64) }, 0, [
    [0, 0],
    [0, 3],
  ]);
  assert.deepEqual([refs2.token(1), refs2.doc], [2, 1]);
  b.contexts.offer(1, 4, 0.5, refs.token(2), refs.doc);
  b.contexts.offer(1, 4, 0.75, refs2.token(1), refs2.doc);
  const m = (k: number) => [
    Float64Array.from({ length: 9 }, (_, e) => (e + 1) * k),
    Float64Array.from({ length: 9 }, () => 0.01 * k),
  ];
  b.setProfile("lua", m(0.1), 2);
  b.setProfile("plaintext", m(0.3), 1);
  return b.finish("f".repeat(64));
}

test("the sidecar round-trips: profile, pooled mean, contexts with file, sha256, span and score", () => {
  const dir = mkdtempSync(join(tmpdir(), "expert-stats-"));
  try {
    const path = join(dir, "toy.atlas.experts.bin");
    const { id, bytes } = writeExpertStats(path, toyStats());
    assert.equal(readFileSync(path).length, bytes);
    assert.deepEqual(readdirSync(dir), ["toy.atlas.experts.bin"], "written atomically");
    const f = ExpertStatsFile.open(path, { id, fingerprint: "f".repeat(64), groups: 2, experts: 3 });
    try {
      assert.deepEqual(f.classes, ["lua", "plaintext"]);
      const p = f.profile(0, 4);
      assert.ok(Math.abs(p[0]! - 0.5) < 1e-4 && Math.abs(p[1]! - 1.5) < 3e-4, `${p}`);
      // pooled: (2·0.5 + 1·1.5) / 3
      assert.ok(Math.abs(f.pooledMean(p) - 2.5 / 3) < 3e-4);
      assert.equal(f.groupProfile(1).length, 9 * 2);
      const ctx = f.contexts(1, 4);
      assert.equal(ctx.length, 2);
      assert.deepEqual(
        ctx.map((c) => [c.path, c.sha256[0], c.span]),
        [
          ["plaintext/b.txt", "b", [0, 3]],
          ["lua/a.lua", "a", [105, 109]],
        ],
      );
      assert.ok(Math.abs(ctx[0]!.score - 0.75) < 3e-4 && Math.abs(ctx[1]!.score - 0.5) < 2e-4);
      assert.deepEqual(f.contexts(0, 0), [], "no contexts: empty");
    } finally {
      f.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a sidecar of another build, another model, damaged, truncated or of a newer version is refused clearly", () => {
  const dir = mkdtempSync(join(tmpdir(), "expert-stats-"));
  try {
    const path = join(dir, "toy.atlas.experts.bin");
    const { bytes, id } = serializeExpertStats(toyStats());
    writeFileSync(path, bytes);
    const want = { id, fingerprint: "f".repeat(64), groups: 2, experts: 3 };
    ExpertStatsFile.open(path, want).close();
    assert.throws(
      () => ExpertStatsFile.open(path, { ...want, id: "0".repeat(64) }),
      /another build of the atlas.*rebuild/,
    );
    assert.throws(
      () => ExpertStatsFile.open(path, { ...want, fingerprint: "0".repeat(64) }),
      /for another model/,
    );
    assert.throws(() => ExpertStatsFile.open(join(dir, "none.bin"), want), /expert statistics are missing/);
    writeFileSync(path, bytes.subarray(0, bytes.length - 8));
    assert.throws(() => ExpertStatsFile.open(path, want), /damaged \(section tokenLength/);
    writeFileSync(path, Buffer.from("not a stats file at all"));
    assert.throws(() => ExpertStatsFile.open(path, want), /not Monet Lens expert statistics/);
    const newer = Buffer.from(bytes);
    const n = newer.readUInt32LE(8);
    const header = newer
      .subarray(12, 12 + n)
      .toString("utf8")
      .replace('"version":1', '"version":9');
    newer.write(header, 12, "utf8");
    writeFileSync(path, newer);
    assert.throws(() => ExpertStatsFile.open(path, want), /version 9, but this Monet Lens reads version 1/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
