// The padded KV cache's room policy: a generation allocates its cache once at its final size
// (prompt + most new tokens, rounded up to 64 positions) instead of growing by doubling while it
// decodes; a cache that must grow still at least doubles; appended positions land after the
// cached ones and truncation keeps the buffers.
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import * as ort from "../../src/engine/ort";
import { KvCache, type CacheShape } from "../../src/engine/kv-cache";
import type { MonetRunner } from "../../src/engine/runner";
import { generate, type CacheSlot } from "../../src/engine/generate";
import { SentencePieceTokenizer } from "../../src/tokenizer/tokenizer";
import { DEMO_MODEL } from "../helpers/fixtures";
import { testRunner } from "../helpers/runner";

const shape: CacheShape = { numLayers: 2, numKvHeads: 2, headDim: 3 };

/** [1, kvH, T, hd] per layer, every value `v`. */
const fresh = (T: number, v: number) =>
  Array.from(
    { length: shape.numLayers },
    () => new ort.Tensor("float32", new Float32Array(2 * T * 3).fill(v), [1, 2, T, 3]),
  );

describe("KvCache room", () => {
  it("a new cache gets what is asked, rounded up to 64 positions, not doubled", () => {
    assert.equal(KvCache.empty(shape).withRoom(100, 4096).capacity, 128);
    assert.equal(KvCache.empty(shape).withRoom(544, 4096).capacity, 576);
    assert.equal(KvCache.empty(shape).withRoom(64, 4096).capacity, 64);
    assert.equal(KvCache.empty(shape).withRoom(4080, 4090).capacity, 4090, "at most the model's positions");
  });

  it("a full cache grows to at least twice its size, keeping its positions", () => {
    let c = KvCache.empty(shape).withRoom(64, 4096);
    c = c.append([1, 2], fresh(2, 7), fresh(2, 8));
    assert.equal(c.withRoom(64, 4096), c, "room enough: the same buffers");
    const grown = c.withRoom(65, 4096);
    assert.equal(grown.capacity, 128);
    assert.deepEqual(grown.tokens, [1, 2]);
    const k = grown.keys[1]!.data as Float32Array;
    // head 1 starts at 128·3: its two positions are 7s, the rest still zero
    assert.deepEqual([...k.subarray(128 * 3, 128 * 3 + 7)], [7, 7, 7, 7, 7, 7, 0]);
    assert.equal(c.withRoom(300, 4096).capacity, 320, "more than double when asked for more");
  });

  it("truncating a padded cache keeps its buffers and room", () => {
    const c = KvCache.empty(shape).withRoom(10, 4096).append([1, 2, 3], fresh(3, 1), fresh(3, 2));
    const t = c.truncate(1);
    assert.equal(t.capacity, 64);
    assert.equal(t.keys[0], c.keys[0]);
    assert.deepEqual(t.tokens, [1]);
  });
});

describe("generation reserves its cache once (demo model)", () => {
  let runner: MonetRunner;
  let tokenizer: SentencePieceTokenizer;
  before(async () => {
    tokenizer = await SentencePieceTokenizer.fromFileAsync(join(DEMO_MODEL, "tokenizer.model"));
    runner = await testRunner(DEMO_MODEL);
  });
  after(async () => runner.session.release());

  it("the prompt and the most new tokens, in one allocation", async () => {
    const ids = tokenizer.encode("def add(a, b):\n    return a + b\n".repeat(8)).slice(0, 60);
    assert.equal(ids.length, 60);
    const slot: CacheSlot = { cache: undefined, steeringKey: "" };
    const caps: number[] = [];
    const first = runner.forward.bind(runner);
    runner.forward = async (req) => {
      const out = await first(req);
      caps.push(out.cache.capacity);
      return out;
    };
    try {
      await generate(runner, tokenizer, ids, slot, { maxTokens: 80, ignoreEos: true });
    } finally {
      runner.forward = first;
    }
    // 60 + 80 = 140 → 192 from the prefill on; growing by doubling would have gone 64 → 128 → 256.
    assert.equal(caps.length, 80);
    assert.deepEqual(new Set(caps), new Set([192]));
  });

  it("at most 256 new tokens' room up front: a long generation that stops early holds no more", async () => {
    const ids = tokenizer.encode("x = 1\n".repeat(30)).slice(0, 60);
    const slot: CacheSlot = { cache: undefined, steeringKey: "" };
    let polls = 0; // not cancelled before the prefill, cancelled right after it
    const r = await generate(runner, tokenizer, ids, slot, {
      maxTokens: 2000,
      ignoreEos: true,
      cancelled: () => polls++ > 0,
    });
    assert.equal(r.stopReason, "cancelled");
    assert.equal(slot.cache?.capacity, 320); // 60 + 256, rounded up to 64
  });
});
