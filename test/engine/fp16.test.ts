// float16 weights and activations (the GPU default), checked on the CPU against the
// float32 reference with looser, stated tolerances: 1e-2 on the random fixtures' logits
// (masked, steered with scales up to 3, and cached too), 0.25 on the demo model's logits with the same top-1 token
// wherever the reference's top-1 margin exceeds 0.25.
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { KvCache } from "../../src/engine/kv-cache";
import { compareLogits } from "../../src/bench/gpu-check/compare";
import { steeringFromIndexLists, steeringFromScaledExperts } from "../../src/engine/steering";
import { routingGroupCount } from "../../src/checkpoint/config";
import { Engine } from "../../src/engine/engine";
import {
  DEMO_MODEL,
  FIXTURES,
  TEST_CACHE,
  f32,
  i64,
  maxAbsDiff,
  readFixture,
  shape,
  u8,
} from "../helpers/fixtures";
import { testRunner } from "../helpers/runner";

const fp16Runner = (dir: string) => testRunner(dir, { dtype: "float16" });

describe("float16 graph", () => {
  for (const name of ["random-vd", "random-hd"]) {
    it(`${name}: logits, masked logits and cached decoding within 1e-2`, async () => {
      const runner = await fp16Runner(join(FIXTURES, name));
      const ex = readFixture(join(FIXTURES, name, "expected.safetensors"));
      const [B, T] = shape(ex, "input_ids") as [number, number];
      const V = runner.config.vocabSize;
      const masks = steeringFromIndexLists(
        [0, 1].map((g) => [...u8(ex, `mask.${g}`)].flatMap((v, e) => (v ? [e] : []))),
        runner.config.moeExperts,
        "fixture",
      );
      for (let b = 0; b < B; b++) {
        const ids = i64(ex, "input_ids").slice(b * T, (b + 1) * T);
        const ref = f32(ex, "logits").subarray(b * T * V, (b + 1) * T * V);
        const empty = () => KvCache.empty(runner.cacheShape());
        assert.ok(
          maxAbsDiff((await runner.forward({ ids, cache: empty(), numLogits: T })).logits, ref) < 1e-2,
        );
        const mref = f32(ex, "masked_logits").subarray(b * T * V, (b + 1) * T * V);
        assert.ok(
          maxAbsDiff(
            (await runner.forward({ ids, cache: empty(), numLogits: T, steering: masks })).logits,
            mref,
          ) < 1e-2,
        );
        let step = await runner.forward({ ids: ids.slice(0, 2), cache: empty() });
        for (let t = 2; t < T; t++) step = await runner.forward({ ids: [ids[t]!], cache: step.cache });
        assert.ok(maxAbsDiff(step.logits, ref.subarray((T - 1) * V)) < 1e-2);
      }
      await runner.session.release();
    });
  }

  for (const name of ["random-vd", "random-hd"]) {
    it(`${name}: steered logits (expected-steer: scales 0 to 3) within 1e-2, in one pass and decoding`, async (t) => {
      const runner = await fp16Runner(join(FIXTURES, name));
      const c = runner.config;
      const V = c.vocabSize;
      const steered = readFixture(join(FIXTURES, name, "expected-steer.safetensors"));
      const [B, T] = shape(steered, "input_ids") as [number, number];
      const empty = () => KvCache.empty(runner.cacheShape());
      for (const setting of ["steer", "boost"] as const) {
        const steering = steeringFromScaledExperts(
          Array.from({ length: routingGroupCount(c) }, (_, g) =>
            [...f32(steered, `${setting}.${g}`)].map((scale, e) => [e, scale] as const),
          ),
          c.moeExperts,
          `fixture ${setting}`,
        );
        let worst = 0;
        for (let b = 0; b < B; b++) {
          const ids = i64(steered, "input_ids").slice(b * T, (b + 1) * T);
          const ref = f32(steered, `${setting}_logits`).subarray(b * T * V, (b + 1) * T * V);
          const out = await runner.forward({ ids, cache: empty(), numLogits: T, steering });
          const err = maxAbsDiff(out.logits, ref);
          assert.ok(err < 1e-2, `${setting} row ${b}: ${err}`);
          const plain = await runner.forward({ ids, cache: empty(), numLogits: T });
          assert.ok(maxAbsDiff(plain.logits, ref) > 10 * err, "the steering's effect is far above the error");
          let step = await runner.forward({ ids: ids.slice(0, 2), cache: empty(), numLogits: 2, steering });
          const last: number[] = [maxAbsDiff(step.logits, ref.subarray(0, 2 * V))];
          for (let k = 2; k < T; k++) {
            step = await runner.forward({ ids: [ids[k]!], cache: step.cache, steering });
            last.push(maxAbsDiff(step.logits, ref.subarray(k * V, (k + 1) * V)));
          }
          const decodeErr = Math.max(...last);
          assert.ok(decodeErr < 1e-2, `${setting} row ${b}, decoding: ${decodeErr}`);
          worst = Math.max(worst, err, decodeErr);
        }
        t.diagnostic(`${name} ${setting}: max error ${worst.toExponential(2)}`);
      }
      await runner.session.release();
    });
  }

  describe("demo model", () => {
    let engine: Engine;
    before(async () => {
      engine = await Engine.open({ modelDir: DEMO_MODEL, ep: "cpu", dtype: "float16", cacheDir: TEST_CACHE });
    });
    after(async () => engine.close());

    it("logits within 0.25 and the same top-1 token where the reference is not near a tie", async () => {
      const ex = readFixture(join(FIXTURES, "tiny-codemonet", "expected.safetensors"));
      const V = engine.config.vocabSize;
      for (const lang of ["python", "cpp", "lua"]) {
        const ids = i64(ex, `${lang}.input_ids`);
        const ref = f32(ex, `${lang}.logits`);
        const logits = await engine.logits(ids);
        assert.ok(maxAbsDiff(logits, ref) < 0.25, lang);
        const top1 = compareLogits(logits, ref, V, 0.25);
        assert.equal(
          top1.decisive_disagreements,
          0,
          `${lang}: top-1 tokens that differ where the reference leads by > 0.25`,
        );
      }
    });
  });
});
