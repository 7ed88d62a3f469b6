// The fused attention's cache slices run inside their layer. onnxruntime runs a node that
// nothing waits on at the end of the graph; the slices that pick the new positions out of each
// layer's updated cache used to, so every layer's whole updated cache stayed allocated until
// the last layer (as much memory again as the KV cache). Checked on onnxruntime's own trace of
// a run: each layer's two slices come before the next layer's attention.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { Checkpoint } from "../../src/checkpoint/checkpoint";
import { ensureConverted } from "../../src/engine/model-store";
import { openSession } from "../../src/engine/session";
import { MonetRunner } from "../../src/engine/runner";
import { KvCache } from "../../src/engine/kv-cache";
import { FIXTURES, TEST_CACHE } from "../helpers/fixtures";

interface TraceEvent {
  cat: string;
  name: string;
  ts: number;
  dur: number;
  args: { op_name?: string; output_type_shape?: Array<Record<string, number[]>> };
}

describe("fused attention: node order", () => {
  it("each layer's present slices run before the next layer's attention", async () => {
    const ckpt = await Checkpoint.open(join(FIXTURES, "random-vd"));
    const converted = await ensureConverted(ckpt, { cacheDir: TEST_CACHE, dtype: "float32" });
    await ckpt.close();
    const dir = mkdtempSync(join(TEST_CACHE, "..", "order-"));
    try {
      const { session } = await openSession(converted.modelPath, {
        ep: "cpu",
        profilePrefix: join(dir, "trace"),
      });
      const runner = new MonetRunner(session, ckpt.config);
      const first = await runner.forward({ ids: [5, 6, 7], cache: KvCache.empty(runner.cacheShape()) });
      await runner.forward({ ids: [8], cache: first.cache });
      session.endProfiling();
      await session.release();
      const trace = JSON.parse(readFileSync(join(dir, readdirSync(dir)[0]!), "utf8")) as TraceEvent[];
      const { numKvHeads: kvH, headDim: hd, numLayers } = ckpt.config;
      const runs = trace.filter((e) => e.cat === "Session" && e.name === "model_run");
      assert.equal(runs.length, 2);
      for (const [r, T] of [
        [0, 3],
        [1, 1],
      ] as const) {
        const run = runs[r]!;
        const nodes = trace.filter(
          (e) =>
            e.cat === "Node" && e.name.endsWith("_kernel_time") && e.ts >= run.ts && e.ts <= run.ts + run.dur,
        );
        // The slices of the new positions: [1, kvH, T, hd] from a Slice.
        const isPresentSlice = (e: TraceEvent) => {
          const dims =
            e.args.op_name === "Slice" ? Object.values(e.args.output_type_shape?.[0] ?? {})[0] : undefined;
          return dims?.length === 4 && dims[1] === kvH && dims[2] === T && dims[3] === hd;
        };
        const gqa = nodes.flatMap((e, i) => (e.args.op_name === "GroupQueryAttention" ? [i] : []));
        assert.equal(gqa.length, numLayers);
        assert.equal(nodes.filter(isPresentSlice).length, 2 * numLayers);
        for (let l = 0; l < numLayers; l++) {
          const inLayer = nodes.slice(gqa[l]! + 1, gqa[l + 1] ?? nodes.length).filter(isPresentSlice).length;
          assert.equal(
            inLayer,
            2,
            `run ${r}, layer ${l}: ${inLayer} present slices before the next attention`,
          );
        }
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
