// What the attention writes, read from onnxruntime's own trace of a prefill and a decoding
// step (the node outputs' shapes and their order):
//   - the read form (float32 graphs) writes nothing of the cache buffers' size: it reads the
//     buffers where they lie. GroupQueryAttention's CPU kernel writes a whole new cache of that
//     size per layer and call, which this test catches (it fails on the gqa form);
//   - the gqa form's present slices run inside their layer. onnxruntime runs a node that
//     nothing waits on at the end of the graph; the slices that pick the new positions out of
//     each layer's updated cache used to, so every layer's updated cache stayed allocated until
//     the last layer (as much memory again as the KV cache).
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { KvCache } from "../../src/engine/kv-cache";
import { FIXTURES, TEST_CACHE } from "../helpers/fixtures";
import { testRunner, type TestRunnerOptions } from "../helpers/runner";

interface TraceEvent {
  cat: string;
  name: string;
  ts: number;
  dur: number;
  args: { op_name?: string; output_type_shape?: Array<Record<string, number[]>> };
}

/** The node events of each run of a prefill of 3 tokens and one decoding step, with the cache's length. */
async function traceRuns(attention: TestRunnerOptions["attention"]) {
  const dir = mkdtempSync(join(TEST_CACHE, "..", "order-"));
  try {
    const runner = await testRunner(join(FIXTURES, "random-vd"), {
      attention,
      profilePrefix: join(dir, "trace"),
    });
    const first = await runner.forward({ ids: [5, 6, 7], cache: KvCache.empty(runner.cacheShape()) });
    const second = await runner.forward({ ids: [8], cache: first.cache });
    runner.session.endProfiling();
    await runner.session.release();
    const trace = JSON.parse(readFileSync(join(dir, readdirSync(dir)[0]!), "utf8")) as TraceEvent[];
    const runs = trace.filter((e) => e.cat === "Session" && e.name === "model_run");
    assert.equal(runs.length, 2);
    const nodes = runs.map((run) =>
      trace.filter(
        (e) =>
          e.cat === "Node" && e.name.endsWith("_kernel_time") && e.ts >= run.ts && e.ts <= run.ts + run.dur,
      ),
    );
    return { nodes, config: runner.config, capacity: second.cache.capacity };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const outputDims = (e: TraceEvent) => (e.args.output_type_shape ?? []).map((o) => Object.values(o)[0] ?? []);

describe("attention: what a forward pass writes", () => {
  it("the read form (float32 default) writes no tensor of the cache buffers' size", async () => {
    const { nodes, config, capacity } = await traceRuns(undefined);
    const { numKvHeads: kvH, headDim: hd } = config;
    assert.ok(capacity >= 64, `the cache has room for ${capacity} positions`);
    for (const [r, run] of nodes.entries()) {
      assert.ok(run.length > 0);
      assert.ok(!run.some((e) => e.args.op_name === "GroupQueryAttention"));
      const cacheSized = run.filter((e) =>
        outputDims(e).some((d) => d.length === 4 && d[1] === kvH && d[2] === capacity && d[3] === hd),
      );
      assert.deepEqual(
        cacheSized.map((e) => e.name),
        [],
        `run ${r}: nodes that write [1, ${kvH}, ${capacity}, ${hd}]`,
      );
    }
  });

  it("the gqa form writes the cache again, and each layer's present slices run before the next layer's attention", async () => {
    const { nodes, config, capacity } = await traceRuns("gqa");
    const { numKvHeads: kvH, headDim: hd, numLayers } = config;
    for (const [r, T] of [
      [0, 3],
      [1, 1],
    ] as const) {
      const run = nodes[r]!;
      // The contrast with the read form: GroupQueryAttention returns whole caches.
      const gqa = run.flatMap((e, i) => (e.args.op_name === "GroupQueryAttention" ? [i] : []));
      assert.equal(gqa.length, numLayers);
      assert.ok(outputDims(run[gqa[0]!]!).some((d) => d[2] === capacity && d[3] === hd));
      // The slices of the new positions: [1, kvH, T, hd] from a Slice.
      const isPresentSlice = (e: TraceEvent) => {
        const dims = e.args.op_name === "Slice" ? outputDims(e)[0] : undefined;
        return dims?.length === 4 && dims[1] === kvH && dims[2] === T && dims[3] === hd;
      };
      assert.equal(run.filter(isPresentSlice).length, 2 * numLayers);
      for (let l = 0; l < numLayers; l++) {
        const inLayer = run.slice(gqa[l]! + 1, gqa[l + 1] ?? run.length).filter(isPresentSlice).length;
        assert.equal(inLayer, 2, `run ${r}, layer ${l}: ${inLayer} present slices before the next attention`);
      }
    }
  });
});
