// Exactness of the converter and the runner against ../shared/fixtures (float32 PyTorch
// reference): logits, routing, masked logits, steered logits (graded scales, through the
// engine's Steering type and its protocol form), and cached decoding against a full pass.
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { Checkpoint } from "../../src/checkpoint/checkpoint";
import { ensureConverted } from "../../src/engine/model-store";
import { openSession } from "../../src/engine/session";
import { MonetRunner } from "../../src/engine/runner";
import { KvCache } from "../../src/engine/kv-cache";
import {
  type Steering,
  steeringFromIndexLists,
  steeringFromScaledExperts,
  steeringFromWire,
  steeringToWire,
} from "../../src/engine/steering";
import { routingGroupCount } from "../../src/checkpoint/config";
import { FIXTURES, TEST_CACHE, f32, i64, maxAbsDiff, readFixture, shape, u8 } from "../helpers/fixtures";
import { convertToOnnx, MODEL_FILE } from "../../src/model/convert";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";

/**
 * Logits of every position of `ids` computed as decoding does: a prefill of 3 tokens, then one
 * token at a time with the cache (those steps run the union-of-experts path).
 */
async function decodeTokenByToken(
  runner: MonetRunner,
  cache: KvCache,
  ids: readonly number[],
  steering?: Steering,
): Promise<Float32Array> {
  let step = await runner.forward({ ids: ids.slice(0, 3), cache, numLogits: 3, steering });
  const rows = [step.logits];
  for (let t = 3; t < ids.length; t++) {
    step = await runner.forward({ ids: [ids[t]!], cache: step.cache, steering });
    rows.push(step.logits);
  }
  const all = new Float32Array(rows.reduce((n, r) => n + r.length, 0));
  let o = 0;
  for (const r of rows) {
    all.set(r, o);
    o += r.length;
  }
  return all;
}

for (const name of ["random-vd", "random-hd"]) {
  describe(`fixture ${name}`, () => {
    let runner: MonetRunner;
    const expected = readFixture(join(FIXTURES, name, "expected.safetensors"));
    const [B, T] = shape(expected, "input_ids") as [number, number];
    const allIds = i64(expected, "input_ids");
    let masks: Steering;

    before(async () => {
      const ckpt = await Checkpoint.open(join(FIXTURES, name));
      const converted = await ensureConverted(ckpt, { cacheDir: TEST_CACHE });
      await ckpt.close();
      runner = new MonetRunner((await openSession(converted.modelPath, { ep: "cpu" })).session, ckpt.config);
      const E = ckpt.config.moeExperts;
      masks = steeringFromIndexLists(
        Array.from({ length: routingGroupCount(ckpt.config) }, (_, g) =>
          [...u8(expected, `mask.${g}`)].flatMap((v, e) => (v ? [e] : [])),
        ),
        E,
        "fixture masks",
      );
    });
    after(async () => runner.session.release());

    const empty = () =>
      KvCache.empty({
        numLayers: runner.config.numLayers,
        numKvHeads: runner.config.numKvHeads,
        headDim: runner.config.headDim,
      });
    const rowIds = (b: number) => allIds.slice(b * T, (b + 1) * T);
    const V = () => runner.config.vocabSize;

    it("logits and routing match the reference (1e-3 / 1e-4)", async () => {
      const logits = f32(expected, "logits");
      for (let b = 0; b < B; b++) {
        const out = await runner.forward({ ids: rowIds(b), cache: empty(), numLogits: T, routing: true });
        assert.ok(maxAbsDiff(out.logits, logits.subarray(b * T * V(), (b + 1) * T * V())) < 1e-3);
        for (let g = 0; g < routingGroupCount(runner.config); g++) {
          for (const side of ["g1", "g2"] as const) {
            const ref = f32(expected, `router.${g}.${side}`);
            const n = ref.length / B;
            const diff = maxAbsDiff(out.routing![side][g]!, ref.subarray(b * n, (b + 1) * n));
            assert.ok(diff < 1e-4, `router.${g}.${side} row ${b}: ${diff}`);
          }
        }
      }
    });

    it("a prefill in chunks (3-token passes) gives the reference's logits, masked logits and routing", async () => {
      const chunked = new MonetRunner(runner.session, runner.config, undefined, "float32", 3);
      assert.ok(T > 6, `the fixture (${T} tokens) spans several chunks`);
      const logits = f32(expected, "logits");
      const masked = f32(expected, "masked_logits");
      for (let b = 0; b < B; b++) {
        const rows = (x: Float32Array) => x.subarray(b * T * V(), (b + 1) * T * V());
        const out = await chunked.forward({ ids: rowIds(b), cache: empty(), numLogits: T, routing: true });
        assert.equal(out.cache.length, T);
        assert.ok(maxAbsDiff(out.logits, rows(logits)) < 1e-3);
        for (let g = 0; g < routingGroupCount(runner.config); g++)
          for (const side of ["g1", "g2"] as const) {
            const ref = f32(expected, `router.${g}.${side}`);
            const n = ref.length / B;
            assert.ok(maxAbsDiff(out.routing![side][g]!, ref.subarray(b * n, (b + 1) * n)) < 1e-4);
          }
        const m = await chunked.forward({ ids: rowIds(b), cache: empty(), numLogits: T, steering: masks });
        assert.ok(maxAbsDiff(m.logits, rows(masked)) < 1e-3);
        // The last n positions only, n across a chunk boundary (4: parts of the last two chunks).
        const last = await chunked.forward({ ids: rowIds(b), cache: empty(), numLogits: 4 });
        assert.equal(last.logits.length, 4 * V());
        assert.ok(maxAbsDiff(last.logits, rows(logits).subarray((T - 4) * V())) < 1e-3);
      }
    });

    it("masked logits match the reference (1e-3), and differ from unmasked ones", async () => {
      const masked = f32(expected, "masked_logits");
      const plain = f32(expected, "logits");
      for (let b = 0; b < B; b++) {
        const out = await runner.forward({ ids: rowIds(b), cache: empty(), numLogits: T, steering: masks });
        const ref = masked.subarray(b * T * V(), (b + 1) * T * V());
        assert.ok(maxAbsDiff(out.logits, ref) < 1e-3);
        assert.ok(
          maxAbsDiff(ref, plain.subarray(b * T * V(), (b + 1) * T * V())) > 1e-2,
          "the fixture masks change the logits",
        );
      }
    });

    for (const withMasks of [false, true]) {
      it(`token-by-token decoding with the cache equals one full pass${withMasks ? " (masked)" : ""}`, async () => {
        const ref = f32(expected, withMasks ? "masked_logits" : "logits");
        const m = withMasks ? masks : undefined;
        for (let b = 0; b < B; b++) {
          const all = await decodeTokenByToken(runner, empty(), rowIds(b), m);
          assert.ok(maxAbsDiff(all, ref.subarray(b * T * V(), (b + 1) * T * V())) < 1e-3);
        }
      });
    }

    // Graded scales (monet-math.md, Steering): the scale matrices as the engine's sparse type,
    // through the protocol's form and the engine process's check, against the reference.
    const steered = readFixture(join(FIXTURES, name, "expected-steer.safetensors"));
    for (const setting of ["steer", "boost"] as const) {
      it(`${setting}ed logits match the reference (1e-3), in one pass and decoding token by token`, async () => {
        const c = runner.config;
        const E = c.moeExperts;
        const G = routingGroupCount(c);
        const built = steeringFromScaledExperts(
          Array.from({ length: G }, (_, g) =>
            [...f32(steered, `${setting}.${g}`)].map((scale, e) => [e, scale] as const),
          ),
          E,
          `fixture ${setting}`,
        );
        const steering = steeringFromWire(JSON.parse(JSON.stringify(steeringToWire(built))), {
          groups: G,
          experts: E,
        });
        assert.equal(steering.key, built.key);
        assert.ok(
          steering.groups.every((g) => g.scales.some((x) => x !== 0)),
          "graded, not only masks",
        );
        const [Bs, Ts] = shape(steered, "input_ids") as [number, number];
        const ids = i64(steered, "input_ids");
        const ref = f32(steered, `${setting}_logits`);
        for (let b = 0; b < Bs; b++) {
          const row = ids.slice(b * Ts, (b + 1) * Ts);
          const want = ref.subarray(b * Ts * V(), (b + 1) * Ts * V());
          const out = await runner.forward({ ids: row, cache: empty(), numLogits: Ts, steering });
          assert.ok(
            maxAbsDiff(out.logits, want) < 1e-3,
            `${setting} row ${b}: ${maxAbsDiff(out.logits, want)}`,
          );
          const plain = await runner.forward({ ids: row, cache: empty(), numLogits: Ts });
          assert.ok(maxAbsDiff(want, plain.logits) > 1e-2, "the scales change the logits");
          const all = await decodeTokenByToken(runner, empty(), row, steering);
          assert.ok(maxAbsDiff(all, want) < 1e-3, `${setting} row ${b}, decoding`);
        }
      });
    }

    it("a truncated cache entry reuses the shared prefix exactly", async () => {
      const ids = rowIds(0);
      const full = await runner.forward({ ids, cache: empty(), numLogits: 1 });
      const cut = full.cache.truncate(4);
      assert.equal(cut.length, 4);
      const resumed = await runner.forward({ ids: ids.slice(4), cache: cut, numLogits: 1 });
      assert.ok(maxAbsDiff(resumed.logits, full.logits) < 1e-4);
    });
  });
}

describe("portable attention (standard ONNX ops instead of GroupQueryAttention)", () => {
  for (const name of ["random-vd", "random-hd"]) {
    it(`${name}: logits and cached decoding match the reference`, async () => {
      const dir = mkdtempSync(join(tmpdir(), "monet-portable-"));
      try {
        const ckpt = await Checkpoint.open(join(FIXTURES, name));
        await convertToOnnx(ckpt, join(dir, "m"), { fingerprint: "test", attention: "portable" });
        await ckpt.close();
        const runner = new MonetRunner(
          (await openSession(join(dir, "m", MODEL_FILE), { ep: "cpu" })).session,
          ckpt.config,
        );
        const expected = readFixture(join(FIXTURES, name, "expected.safetensors"));
        const [, T] = shape(expected, "input_ids") as [number, number];
        const ids = i64(expected, "input_ids").slice(0, T);
        const V = ckpt.config.vocabSize;
        const ref = f32(expected, "logits").subarray(0, T * V);
        const empty = KvCache.empty({
          numLayers: ckpt.config.numLayers,
          numKvHeads: ckpt.config.numKvHeads,
          headDim: ckpt.config.headDim,
        });
        assert.ok(maxAbsDiff((await runner.forward({ ids, cache: empty, numLogits: T })).logits, ref) < 1e-3);
        let step = await runner.forward({ ids: ids.slice(0, T - 1), cache: empty });
        step = await runner.forward({ ids: [ids[T - 1]!], cache: step.cache });
        assert.ok(maxAbsDiff(step.logits, ref.subarray((T - 1) * V)) < 1e-3);
        await runner.session.release();
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }
});
