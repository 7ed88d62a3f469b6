// The attention forms over padded cache buffers, against each other in one run (src/model/
// attention.ts): "read" (the cache read where it lies; float32 graphs since converter 11), the
// same over a float16 cache widened where it is read ("read16": quantized graphs since converter
// 13) and "gqa" (onnxruntime's GroupQueryAttention, which writes a new cache of the buffers'
// length on every call). The graphs are built by the product's own attention(); the projections are
// stood in by identities, so that only attention is timed: a chain of L layers, each reading its
// own cache of P tokens in buffers of C = P + T + 64 rounded up to 64 positions (a generation's
// room), at most the model's positions.
//   npm run bench:attention -- [--config DIR] [--contexts 128,512,1024,1920] [--tokens 1]
//        [--rounds 3] [--runs 20] [--threads 2] [--profile PREFIX]
// --profile writes onnxruntime's trace of each form's session (PREFIX_gqa_*.json, PREFIX_read_*.json,
// PREFIX_read16_*.json; node scripts/profile-summary.mjs --runs all FILE splits it by operator).
// Default shape: the published CodeMonet 1.4B (24 layers, 16 heads of 128, 16 kv heads).
// Prints per context the median milliseconds of one forward pass of each form, the ratios
// gqa/read and read16/read, and the largest difference between gqa's and read's outputs (both
// are exact) and between read16's and read's (the float16 rounding of the cache).
import * as ort from "../src/engine/ort";
import { parseArgs } from "node:util";
import { loadConfig, parseConfig, type MonetConfig } from "../src/checkpoint/config";
import { CODEMONET_VD_1_4B_CONFIG } from "../src/checkpoint/published-configs";
import { GraphBuilder } from "../src/onnx/graph-builder";
import { serializeModel } from "../src/onnx/model-writer";
import { attention, type AttentionForm } from "../src/model/attention";
import { castsFor, type Weights } from "../src/model/graph-parts";
import { float32ToFloat16Bits } from "../src/checkpoint/safetensors";
import { seededRandom } from "../src/engine/sampler";

const { values } = parseArgs({
  options: {
    config: { type: "string" },
    contexts: { type: "string", default: "128,512,1024,1920" },
    tokens: { type: "string", default: "1" },
    rounds: { type: "string", default: "3" },
    runs: { type: "string", default: "20" },
    threads: { type: "string", default: "2" },
    profile: { type: "string" },
  },
});
const positive = (v: string, what: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${what} ${v}: use a positive integer`);
  return n;
};
const c: MonetConfig = values.config
  ? loadConfig(values.config)
  : parseConfig(CODEMONET_VD_1_4B_CONFIG, "the published 1.4B config");
const T = positive(values.tokens, "tokens");
const rounds = positive(values.rounds, "rounds");
const runs = positive(values.runs, "runs");
const threads = positive(values.threads, "threads");
const contexts = values.contexts.split(",").map((v) => positive(v, "contexts"));
const { numLayers: L, numKvHeads: kvH, headDim: hd, hiddenSize: d } = c;

/** Projections as identities (or the first `out` columns): attention alone is timed. */
const identityWeights = (): Weights => ({
  tensor: () => Promise.reject(new Error("no stored tensors in this benchmark")),
  linear: async (_name, [out, inp]) => ({
    out,
    in: inp,
    apply: (b, x) =>
      out === d
        ? b.op("Identity", [x])
        : b.op("Slice", [x, b.constI64([0]), b.constI64([out]), b.constI64([1])]),
  }),
  embedding: () => Promise.reject(new Error("no embedding in this benchmark")),
});

type Variant = "gqa" | "read" | "read16";
const VARIANTS: Variant[] = ["gqa", "read", "read16"];
const kvDtypeOf = (v: Variant) => (v === "read16" ? "float16" : "float32");

async function build(variant: Variant): Promise<Uint8Array> {
  const form: AttentionForm = variant === "gqa" ? "gqa" : "read";
  const kvDt = kvDtypeOf(variant);
  const g = new GraphBuilder("attention");
  const ids = g.input("input_ids", "int64", [1, "T"]);
  const pastLength = g.input("past_length", "int64", [1]);
  const pastK = Array.from({ length: L }, (_, l) => g.input(`past_key.${l}`, kvDt, [1, kvH, "C", hd]));
  const pastV = Array.from({ length: L }, (_, l) => g.input(`past_value.${l}`, kvDt, [1, kvH, "C", hd]));
  let x = g.input("x", "float32", ["T", d]);
  const attn = attention(
    g,
    c,
    "float32",
    castsFor(g, "float32"),
    form,
    { ids, pastK, pastV, pastLength },
    identityWeights(),
    kvDt,
  );
  for (let l = 0; l < L; l++) x = await attn.layer(l, x);
  g.output(x, "y", "float32", ["T", d]);
  return serializeModel(g);
}

const next = seededRandom(1);
const random = (n: number) => Float32Array.from({ length: n }, () => next() - 0.5);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main() {
  const forms = VARIANTS;
  const options: ort.InferenceSession.SessionOptions = {
    intraOpNumThreads: threads,
    graphOptimizationLevel: "all",
  };
  const sessions = new Map<Variant, ort.InferenceSession>();
  for (const form of forms) {
    const profiling = values.profile
      ? { enableProfiling: true, profileFilePrefix: `${values.profile}_${form}` }
      : {};
    sessions.set(form, await ort.InferenceSession.create(await build(form), { ...options, ...profiling }));
  }
  console.log(
    `attention alone, ${L} layers, ${c.numHeads} heads of ${hd}, ${kvH} kv heads, ${T} new token(s), ${threads} threads, ` +
      `median of ${runs} runs × ${rounds} rounds (forms interleaved)`,
  );
  console.log(
    "| cached tokens P | buffers C | gqa (ms) | read (ms) | read16 (ms) | gqa / read | read16 / read | max difference gqa, read16 |",
  );
  console.log("|---:|---:|---:|---:|---:|---:|---:|---:|");
  for (const P of contexts) {
    if (P + T > c.maxPositionEmbeddings)
      throw new Error(
        `--contexts ${P}: ${P} + ${T} tokens exceed the model's ${c.maxPositionEmbeddings} positions`,
      );
    const C = Math.min(c.maxPositionEmbeddings, Math.ceil((P + T + 64) / 64) * 64);
    const feeds: Record<string, ort.Tensor> = {
      input_ids: new ort.Tensor("int64", new BigInt64Array(T), [1, T]),
      past_length: new ort.Tensor("int64", BigInt64Array.of(BigInt(P)), [1]),
      x: new ort.Tensor("float32", random(T * d), [T, d]),
    };
    // read16 reads the same cache rounded to float16.
    const feeds16: Record<string, ort.Tensor> = { ...feeds };
    for (let l = 0; l < L; l++)
      for (const name of [`past_key.${l}`, `past_value.${l}`]) {
        const data = random(kvH * C * hd);
        feeds[name] = new ort.Tensor("float32", data, [1, kvH, C, hd]);
        feeds16[name] = new ort.Tensor("float16", float32ToFloat16Bits(data), [1, kvH, C, hd]);
      }
    const times = new Map<Variant, number[]>(forms.map((f) => [f, []]));
    const outputs = new Map<Variant, Float32Array>();
    for (let r = 0; r < rounds; r++) {
      for (const form of r % 2 ? [...forms].reverse() : forms) {
        const session = sessions.get(form)!;
        const input = form === "read16" ? feeds16 : feeds;
        outputs.set(form, (await session.run(input)).y!.data as Float32Array); // warm-up
        for (let i = 0; i < runs; i++) {
          const t0 = performance.now();
          await session.run(input);
          times.get(form)!.push(performance.now() - t0);
        }
      }
    }
    const gqa = median(times.get("gqa")!);
    const read = median(times.get("read")!);
    const read16 = median(times.get("read16")!);
    const diff = (a: Variant) => {
      const x = outputs.get(a)!;
      const y = outputs.get("read")!;
      let m = 0;
      for (let i = 0; i < x.length; i++) m = Math.max(m, Math.abs(x[i]! - y[i]!));
      return m.toExponential(1);
    };
    console.log(
      `| ${P} | ${C} | ${gqa.toFixed(2)} | ${read.toFixed(2)} | ${read16.toFixed(2)} | ${(gqa / read).toFixed(2)} | ` +
        `${(read16 / read).toFixed(2)} | ${diff("gqa")}, ${diff("read16")} |`,
    );
  }
  for (const s of sessions.values()) {
    if (values.profile) s.endProfiling();
    await s.release();
  }
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
