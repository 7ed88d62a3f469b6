// The attention forms over padded cache buffers, against each other in one run (src/model/
// attention.ts): "read" (the cache read where it lies; float32 graphs since converter 11) and
// "gqa" (onnxruntime's GroupQueryAttention, which writes a new cache of the buffers' length on
// every call). The graphs are built by the product's own attention(); the projections are
// stood in by identities, so that only attention is timed: a chain of L layers, each reading its
// own cache of P tokens in buffers of C = P + T + 64 rounded up to 64 positions (a generation's
// room), at most the model's positions.
//   npm run bench:attention -- [--config DIR] [--contexts 128,512,1024,1920] [--tokens 1]
//        [--rounds 3] [--runs 20] [--threads 2] [--profile PREFIX]
// --profile writes onnxruntime's trace of each form's session (PREFIX_gqa_*.json, PREFIX_read_*.json;
// node scripts/profile-summary.mjs --runs all FILE splits it by operator).
// Default shape: the published CodeMonet 1.4B (24 layers, 16 heads of 128, 16 kv heads).
// Prints per context the median milliseconds of one forward pass of each form, the ratio
// gqa/read, and the largest difference between their outputs (both are exact).
import * as ort from "../src/engine/ort";
import { parseArgs } from "node:util";
import { loadConfig, parseConfig, type MonetConfig } from "../src/checkpoint/config";
import { CODEMONET_VD_1_4B_CONFIG } from "../src/checkpoint/published-configs";
import { GraphBuilder } from "../src/onnx/graph-builder";
import { serializeModel } from "../src/onnx/model-writer";
import { attention, type AttentionForm } from "../src/model/attention";
import { castsFor, type Weights } from "../src/model/graph-parts";
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

async function build(form: AttentionForm): Promise<Uint8Array> {
  const g = new GraphBuilder("attention");
  const ids = g.input("input_ids", "int64", [1, "T"]);
  const pastLength = g.input("past_length", "int64", [1]);
  const pastK = Array.from({ length: L }, (_, l) => g.input(`past_key.${l}`, "float32", [1, kvH, "C", hd]));
  const pastV = Array.from({ length: L }, (_, l) => g.input(`past_value.${l}`, "float32", [1, kvH, "C", hd]));
  let x = g.input("x", "float32", ["T", d]);
  const attn = attention(
    g,
    c,
    "float32",
    castsFor(g, "float32"),
    form,
    { ids, pastK, pastV, pastLength },
    identityWeights(),
  );
  for (let l = 0; l < L; l++) x = await attn.layer(l, x);
  g.output(x, "y", "float32", ["T", d]);
  return serializeModel(g);
}

const next = seededRandom(1);
const random = (n: number) => Float32Array.from({ length: n }, () => next() - 0.5);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main() {
  const forms: AttentionForm[] = ["gqa", "read"];
  const options: ort.InferenceSession.SessionOptions = {
    intraOpNumThreads: threads,
    graphOptimizationLevel: "all",
  };
  const sessions = new Map<AttentionForm, ort.InferenceSession>();
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
  console.log("| cached tokens P | buffers C | gqa (ms) | read (ms) | gqa / read | max difference |");
  console.log("|---:|---:|---:|---:|---:|---:|");
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
    for (let l = 0; l < L; l++) {
      feeds[`past_key.${l}`] = new ort.Tensor("float32", random(kvH * C * hd), [1, kvH, C, hd]);
      feeds[`past_value.${l}`] = new ort.Tensor("float32", random(kvH * C * hd), [1, kvH, C, hd]);
    }
    const times = new Map<AttentionForm, number[]>(forms.map((f) => [f, []]));
    const outputs = new Map<AttentionForm, Float32Array>();
    for (let r = 0; r < rounds; r++) {
      for (const form of r % 2 ? [...forms].reverse() : forms) {
        const session = sessions.get(form)!;
        outputs.set(form, (await session.run(feeds)).y!.data as Float32Array); // warm-up
        for (let i = 0; i < runs; i++) {
          const t0 = performance.now();
          await session.run(feeds);
          times.get(form)!.push(performance.now() - t0);
        }
      }
    }
    const gqa = median(times.get("gqa")!);
    const read = median(times.get("read")!);
    const a = outputs.get("gqa")!;
    const b = outputs.get("read")!;
    let diff = 0;
    for (let i = 0; i < a.length; i++) diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
    console.log(
      `| ${P} | ${C} | ${gqa.toFixed(2)} | ${read.toFixed(2)} | ${(gqa / read).toFixed(2)} | ${diff.toExponential(1)} |`,
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
