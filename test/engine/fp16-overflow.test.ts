// float16 overflow (issue #13, precision on GPUs): checkpoints scaled so that activations pass
// float16's 65,504. The residual stream stays float32 in the float16 graph (a residual that
// overflows float16 runs in float16 unharmed), and what overflows elsewhere (squared-ReLU
// expert activations) is caught at run time: non-finite logits switch the engine to the
// float32 graph with a log line, and the request runs again there — never a garbage token.
import { before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { SafetensorsFile, toFloat32 } from "../../src/checkpoint/safetensors";
import { writeSafetensors, type TensorToWrite } from "../../src/checkpoint/safetensors-writer";
import { Engine } from "../../src/engine/engine";
import { parseSentencePieceModel } from "../../src/tokenizer/sentencepiece-model";
import { writeSentencePieceModel } from "../../src/tokenizer/sentencepiece-writer";
import { DEMO_MODEL, FIXTURES, TEST_CACHE } from "../helpers/fixtures";
import { scratchDirs } from "../reliability/helpers";

const RANDOM_VD = join(FIXTURES, "random-vd");
const dirs = scratchDirs("fp16-overflow-");

/**
 * random-vd with the tensors matching a pattern multiplied (float32 storage), and a tokenizer:
 * the demo model's first 512 pieces (the fixture's vocabulary; <s> 1, </s> 2 as in its config).
 */
async function scaled(name: string, factors: Array<[RegExp, number]>): Promise<string> {
  const dir = dirs.fresh(name);
  const st = await SafetensorsFile.open(join(RANDOM_VD, "model.safetensors"));
  const tensors: TensorToWrite[] = [];
  try {
    for (const e of st.tensors.values()) {
      const data = await st.readTensorBytes(e.name);
      const f = factors.find(([re]) => re.test(e.name))?.[1];
      if (f === undefined) tensors.push({ name: e.name, dtype: e.dtype, shape: e.shape, data });
      else {
        const x = toFloat32(data, e.dtype).map((v) => v * f);
        tensors.push({ name: e.name, dtype: "F32", shape: e.shape, data: new Uint8Array(x.buffer) });
      }
    }
  } finally {
    await st.close();
  }
  await writeSafetensors(join(dir, "model.safetensors"), tensors);
  writeFileSync(join(dir, "config.json"), readFileSync(join(RANDOM_VD, "config.json")));
  const demo = parseSentencePieceModel(readFileSync(join(DEMO_MODEL, "tokenizer.model")), "demo");
  writeFileSync(
    join(dir, "tokenizer.model"),
    writeSentencePieceModel({ ...demo, pieces: demo.pieces.slice(0, 512) }),
  );
  return dir;
}

/** The row of the largest embedding entry: the token whose residual starts nearest float16's limit. */
async function largestEmbeddingRow(): Promise<number> {
  const st = await SafetensorsFile.open(join(RANDOM_VD, "model.safetensors"));
  try {
    const e = st.tensors.get("model.embed_tokens.weight")!;
    const x = toFloat32(await st.readTensorBytes(e.name), e.dtype);
    let best = 0;
    for (let i = 1; i < x.length; i++) if (Math.abs(x[i]!) > Math.abs(x[best]!)) best = i;
    return Math.floor(best / e.shape[1]!);
  } finally {
    await st.close();
  }
}

const open = (modelDir: string, dtype: "float32" | "float16", log?: (l: string) => void) =>
  Engine.open({ modelDir, ep: "cpu", dtype, cacheDir: TEST_CACHE, log });

const maxAbs = (x: Float32Array) => x.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
const allFinite = (x: Float32Array) => x.every((v) => Number.isFinite(v));

describe("float16 overflow", () => {
  let residual: string;
  let squared: string;
  let token: number;
  before(async () => {
    token = await largestEmbeddingRow();
    // Embedding ×1.9e5 puts one residual entry at ~64,000 (float16 still holds the weight);
    // attention outputs ×3000 push the sum past 65,504. The previous graph (float16 residual)
    // gave NaN logits on this checkpoint.
    residual = await scaled("residual", [
      [/embed_tokens\.weight$/, 1.9e5],
      [/o_proj\.weight$/, 3000],
    ]);
    // Up-projections ×300: relu(u·x + b)² passes 65,504 inside the expert layers.
    squared = await scaled("squared-relu", [[/moe\.u\d\.(weight|bias)$/, 300]]);
  });

  it("a residual stream past float16's range runs in float16, finite and close to float32", async () => {
    const ids = [1, token, token, token];
    const logs: string[] = [];
    const f16 = await open(residual, "float16", (l) => logs.push(l));
    const f32 = await open(residual, "float32");
    try {
      const a = await f16.logits(ids);
      const b = await f32.logits(ids);
      assert.ok(allFinite(a), "finite logits from the float16 graph");
      assert.equal(f16.dtype, "float16", `no fallback: ${logs.join("\n")}`);
      let diff = 0;
      for (let i = 0; i < a.length; i++) diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
      assert.ok(diff < 0.05 * Math.max(1, maxAbs(b)), `max |Δ| ${diff} of logits up to ${maxAbs(b)}`);
    } finally {
      await f16.close();
      await f32.close();
    }
  });

  it("squared-ReLU overflow: non-finite logits switch to float32 with a log line; the same tokens as float32", async () => {
    const prompt = [1, 40, 41, 42, 43];
    const reference = await open(squared, "float32");
    const want = await reference.generateIds(prompt, { maxTokens: 6, ignoreEos: true });
    const wantLogits = await reference.logits(prompt);
    await reference.close();

    const logs: string[] = [];
    const engine = await open(squared, "float16", (l) => logs.push(l));
    try {
      assert.equal(engine.dtype, "float16");
      let streamed = "";
      const got = await engine.generateIds(prompt, {
        maxTokens: 6,
        ignoreEos: true,
        onText: (t) => (streamed += t),
      });
      assert.equal(engine.dtype, "float32", "switched to the float32 graph");
      assert.deepEqual(got.ids, want.ids, "the float32 graph's tokens, not garbage");
      assert.equal(streamed, got.text, "the text is shown once");
      const line = logs.find((l) => /non-finite logit/.test(l));
      assert.match(
        line ?? logs.join("\n"),
        /the float16 graph gave a non-finite logit \((NaN|-?Infinity) at position \d+, token \d+\): an activation exceeded float16's range; switching to the float32 graph/,
      );
      assert.deepEqual(await engine.logits(prompt), wantLogits, "later requests run in float32 too");
      assert.equal(logs.filter((l) => /non-finite/.test(l)).length, 1, "switched once");
    } finally {
      await engine.close();
    }
  });
});
