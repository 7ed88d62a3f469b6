// The float16 KV cache of quantized graphs (monet-graph.ts `kvDtype`, attention.ts readForm):
// the keys and values are stored rounded to float16 (half the memory of a float32 cache) and
// widened to float32 where attention reads them. Checked here: which graphs keep which cache,
// that what is stored is exactly the float32 keys rounded to float16, that the new tokens attend
// to their keys rounded the same way (one pass and token by token agree), that the rounding
// costs the demo model little next to quantization itself, and that only the read form takes it.
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Checkpoint } from "../../src/checkpoint/checkpoint";
import { float32ToFloat16Bits } from "../../src/checkpoint/safetensors";
import { convertToOnnx } from "../../src/model/convert";
import type { GraphOptions } from "../../src/model/monet-graph";
import { openSession } from "../../src/engine/session";
import { MonetRunner } from "../../src/engine/runner";
import { KvCache } from "../../src/engine/kv-cache";
import { compareLogits } from "../../src/bench/gpu-check/compare";
import { DEMO_MODEL, FIXTURES, i64, maxAbsDiff, readFixture } from "../helpers/fixtures";

describe("the float16 KV cache (quantized graphs)", () => {
  let tmp: string;
  let demo: Checkpoint;
  const runners = new Map<string, MonetRunner>();
  before(async () => {
    tmp = mkdtempSync(join(tmpdir(), "monet-kv16-"));
    demo = await Checkpoint.open(DEMO_MODEL);
  });
  after(async () => {
    await Promise.all([...runners.values()].map((r) => r.session.release()));
    await demo.close();
    rmSync(tmp, { recursive: true, force: true });
  });

  /** A runner of `ckpt` converted with `opts`, built once per name. */
  async function runner(name: string, ckpt: Checkpoint, opts: Partial<GraphOptions>): Promise<MonetRunner> {
    const known = runners.get(name);
    if (known) return known;
    const dir = join(tmp, name);
    await convertToOnnx(ckpt, dir, { fingerprint: name, ...opts });
    const { session } = await openSession(join(dir, "model.onnx"), { ep: "cpu" });
    const r = new MonetRunner(session, ckpt.config, undefined, opts.dtype ?? "float32");
    runners.set(name, r);
    return r;
  }
  const empty = (r: MonetRunner) => KvCache.empty(r.cacheShape());
  const prompt = () =>
    i64(readFixture(join(FIXTURES, "tiny-codemonet", "expected.safetensors")), "python.input_ids");

  it("int8 and int4 graphs keep a float16 cache (2 bytes a value), float32 graphs a float32 one", async () => {
    const ids = prompt().slice(0, 8);
    for (const [dtype, want, bytes] of [
      ["int4", "float16", 2],
      ["int8", "float16", 2],
      ["float32", "float32", 4],
    ] as const) {
      const r = await runner(`demo-${dtype}`, demo, { dtype });
      assert.equal(r.cacheShape().dtype, want, dtype);
      const { cache } = await r.forward({ ids, cache: empty(r) });
      for (const t of [...cache.keys, ...cache.values]) {
        assert.equal(t.type, want, `${dtype}: cache tensor type`);
        assert.equal((t.data as Float32Array | Uint16Array).BYTES_PER_ELEMENT, bytes);
      }
    }
  });

  it("stores the keys and values rounded to float16: layer 0's are the float32 graph's, rounded", async () => {
    // Layer 0's keys and values depend on nothing the cache holds, so the float32 graph with a
    // float32 cache and with a float16 one compute the same float32 values before storing them.
    const ids = prompt().slice(0, 12);
    const wide = await runner("demo-float32", demo, { dtype: "float32" });
    const narrow = await runner("demo-float32-kv16", demo, { dtype: "float32", kvDtype: "float16" });
    const a = (await wide.forward({ ids, cache: empty(wide) })).cache;
    const b = (await narrow.forward({ ids, cache: empty(narrow) })).cache;
    const { numKvHeads: kvH, headDim: hd } = demo.config;
    const P = ids.length;
    for (const [what, x, y] of [
      ["keys", a.keys[0]!, b.keys[0]!],
      ["values", a.values[0]!, b.values[0]!],
    ] as const) {
      const want = float32ToFloat16Bits(valid(x.data as Float32Array, kvH, a.capacity, P, hd));
      const got = valid(y.data as Uint16Array, kvH, b.capacity, P, hd);
      assert.deepEqual(Array.from(got), Array.from(want), `layer 0 ${what}`);
    }
  });

  it("one pass and token by token agree: the new tokens attend to their keys rounded as the cache holds them", async (t) => {
    const ids = prompt().slice(0, 24);
    const V = demo.config.vocabSize;
    // int4 at accuracy_level 0: at the default 4, MatMulNBits' kernels for one row and for many
    // differ by up to 0.13 in these logits with a float32 cache too.
    for (const [name, opts] of [
      ["float32", { dtype: "float32" }],
      ["int4", { dtype: "int4", accuracyLevel: 0 }],
    ] as const) {
      const r = await runner(`demo-${name}-a0-kv16`, demo, { ...opts, kvDtype: "float16" });
      const whole = (await r.forward({ ids, cache: empty(r), numLogits: 1 })).logits;
      let step = await r.forward({ ids: ids.slice(0, 1), cache: empty(r) });
      for (let t = 1; t < ids.length; t++) step = await r.forward({ ids: [ids[t]!], cache: step.cache });
      // Both round the same float32 keys, but a last-bit difference between the two passes'
      // matrix products may fall on the other side of a float16 rounding: 3e-4 (float32) and 5e-4
      // (int4) measured. Attending to the new tokens' unrounded keys and values in the pass (a
      // build that did) gave 1.4e-3 and 2.2e-3.
      const diff = maxAbsDiff(step.logits.subarray(0, V), whole);
      t.diagnostic(`${name}: ${diff.toExponential(1)}`);
      assert.ok(diff < 1e-3, `${name}: ${diff}`);
    }
  });

  it("costs the demo model little next to int4 itself: under a quarter of int4's change to the logits, the same top-1 token past near ties", async (t) => {
    const ex = readFixture(join(FIXTURES, "tiny-codemonet", "expected.safetensors"));
    const V = demo.config.vocabSize;
    const exact = await runner("demo-float32", demo, { dtype: "float32" });
    const with16 = await runner("demo-int4", demo, { dtype: "int4" });
    const with32 = await runner("demo-int4-kv32", demo, { dtype: "int4", kvDtype: "float32" });
    for (const lang of ["python", "cpp", "lua"]) {
      const ids = i64(ex, `${lang}.input_ids`);
      const run = async (r: MonetRunner) =>
        (await r.forward({ ids, cache: empty(r), numLogits: ids.length })).logits;
      const ref = await run(with32);
      const ours = await run(with16);
      const diff = maxAbsDiff(ours, ref);
      const quantization = maxAbsDiff(ref, await run(exact));
      t.diagnostic(
        `${lang}: float16 cache ${diff.toFixed(3)}, int4 ${quantization.toFixed(3)} over ${ids.length} positions`,
      );
      assert.ok(diff < quantization / 4, `${lang}: ${diff} against int4's ${quantization}`);
      const top1 = compareLogits(ours, ref, V, 0.1);
      assert.equal(
        top1.decisive_disagreements,
        0,
        `${lang}: top-1 tokens that differ where the reference leads by > 0.1`,
      );
    }
  });

  it("only the read form takes a float16 cache under float32 activations", async () => {
    for (const attention of ["portable", "gqa"] as const)
      await assert.rejects(
        convertToOnnx(demo, join(tmp, `refused-${attention}`), {
          fingerprint: attention,
          dtype: "int4",
          attention,
          kvDtype: "float16",
        }),
        new RegExp(
          `a float16 KV cache with float32 activations needs the read attention form, not ${attention}`,
        ),
      );
  });
});

/** The first P positions of each head of a padded [1, kvH, C, hd] buffer, heads one after another. */
function valid<T extends Float32Array | Uint16Array>(
  data: T,
  kvH: number,
  C: number,
  P: number,
  hd: number,
): T {
  const out = new (data.constructor as new (n: number) => T)(kvH * P * hd);
  for (let h = 0; h < kvH; h++) out.set(data.subarray(h * C * hd, h * C * hd + P * hd) as never, h * P * hd);
  return out;
}
