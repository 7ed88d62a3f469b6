// Writes random-weight CodeMonet checkpoints in the Hugging Face layout, for tests and for
// benchmarks at real sizes (the 1.4B shape) without downloading anything. Tensors are
// generated while they are written, one chunk at a time, so memory stays small at any size.
//
// The folder holds config.json, generation_config.json and the weights (model.safetensors, or
// shards + model.safetensors.index.json), but no tokenizer.model: `monet-lens synth` writes
// one whose vocabulary matches vocab_size (src/tokenizer/synth-tokenizer.ts).
import { mkdir, readdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { HF_CONFIG_DEFAULTS, parseConfig, type MonetConfig } from "./config";
import { expectedTensors } from "./checkpoint";
import { DTYPE_BYTES, float32ToBFloat16Bits, numel, type Dtype } from "./safetensors";
import { writeSafetensors, type TensorToWrite } from "./safetensors-writer";

/** A Hugging Face `config.json` for Monet, snake_case; keys left out take upstream defaults. */
import type { HfMonetConfigJson } from "./published-configs";
export type { HfMonetConfigJson };

/** The shape of the published CodeMonet-VD 1.4B (values and sources: published-configs.ts). */
export { CODEMONET_VD_1_4B_CONFIG as CODEMONET_VD_1_4B } from "./published-configs";

export interface SynthOptions {
  seed: number;
  /** Weight dtype (default BF16, as published checkpoints). */
  dtype?: "BF16" | "F32";
  /** Largest shard in bytes (default 5 GB, transformers' default); more shards get an index. */
  shardBytes?: number;
  /** Bytes of tensor data written so far, of the total. */
  onProgress?: (doneBytes: number, totalBytes: number) => void;
}

const INIT_STD = 0.02;
const DEFAULT_SHARD_BYTES = 5_000_000_000;
const CHUNK = 1 << 20; // values generated per step

type Init = { kind: "normal"; std: number } | { kind: "fill"; value: number };

interface Planned {
  name: string;
  dtype: Dtype;
  shape: number[];
  init: Init;
  bytes: number;
}

/**
 * Writes a random CodeMonet checkpoint into `dir` (created if needed). Existing weight files
 * there (model.safetensors, its index, model-*-of-*.safetensors) are replaced. The same seed
 * gives the same tensors whatever `shardBytes` is: each tensor has its own stream.
 *
 * Initialisation is like a fresh model's: linear weights ~ N(0, 0.02), norms 1, biases and the
 * expert biases b1/b2/b 0, router running_mean 0 / running_var 1. The router weights are
 * N(0, 1/d) so that the router's scores of a unit-RMS input are ~N(0, 1), which is what the
 * running statistics say: about moe_topk experts per head pass the threshold, as in training.
 */
export async function writeSyntheticCheckpoint(
  dir: string,
  config: HfMonetConfigJson,
  opts: SynthOptions,
): Promise<void> {
  const dtype = opts.dtype ?? "BF16";
  const hfConfig = fullHfConfig(config, dtype);
  const c = parseConfig(hfConfig, join(dir, "config.json"));
  const plan = planTensors(c, dtype);
  const shards = planShards(plan, opts.shardBytes ?? DEFAULT_SHARD_BYTES);
  const total = plan.reduce((s, t) => s + t.bytes, 0);

  await mkdir(dir, { recursive: true });
  await removeOldWeights(dir);
  await writeFile(join(dir, "config.json"), `${JSON.stringify(hfConfig, null, 2)}\n`);
  await writeFile(
    join(dir, "generation_config.json"),
    `${JSON.stringify({ bos_token_id: c.bosTokenId, eos_token_id: c.eosTokenId }, null, 2)}\n`,
  );

  let done = 0;
  const progress = (bytes: number): void => {
    done += bytes;
    opts.onProgress?.(done, total);
  };
  const names =
    shards.length === 1
      ? ["model.safetensors"]
      : shards.map((_, i) => `model-${pad5(i + 1)}-of-${pad5(shards.length)}.safetensors`);
  const weightMap: Record<string, string> = {};
  for (let i = 0; i < shards.length; i++) {
    const tensors: TensorToWrite[] = shards[i]!.map((t) => ({
      name: t.name,
      dtype: t.dtype,
      shape: t.shape,
      data: () => tensorChunks(t, opts.seed, progress),
    }));
    await writeSafetensors(join(dir, names[i]!), tensors, { format: "pt" });
    for (const t of shards[i]!) weightMap[t.name] = names[i]!;
  }
  if (shards.length > 1) {
    const index = { metadata: { total_size: total }, weight_map: weightMap };
    await writeFile(join(dir, "model.safetensors.index.json"), `${JSON.stringify(index, null, 2)}\n`);
  }
}

/** config.json as transformers would write it for MonetForCausalLM. */
function fullHfConfig(config: HfMonetConfigJson, dtype: "BF16" | "F32"): Record<string, unknown> {
  const merged: Record<string, unknown> = { ...HF_CONFIG_DEFAULTS, ...config };
  merged["num_key_value_heads"] ??= merged["num_attention_heads"];
  return {
    ...merged,
    architectures: ["MonetForCausalLM"],
    model_type: "monet",
    initializer_range: INIT_STD,
    attention_bias: false,
    attention_dropout: 0,
    pretraining_tp: 1,
    rope_scaling: null,
    use_cache: true,
    torch_dtype: dtype === "BF16" ? "bfloat16" : "float32",
  };
}

function planTensors(c: MonetConfig, dtype: "BF16" | "F32"): Planned[] {
  const out: Planned[] = [];
  const add = (name: string, shape: number[], init: Init, dt: Dtype = dtype): void => {
    out.push({ name, dtype: dt, shape, init, bytes: numel(shape) * DTYPE_BYTES[dt] });
  };
  for (const [name, shape] of expectedTensors(c)) {
    add(name, shape, initFor(name, c));
    // PyTorch's BatchNorm also stores its step counter; real checkpoints carry it.
    if (name.endsWith(".running_var"))
      add(name.replace(/running_var$/, "num_batches_tracked"), [], { kind: "fill", value: 0 }, "I64");
  }
  return out;
}

function initFor(name: string, c: MonetConfig): Init {
  if (name.endsWith("norm.weight") || name.endsWith(".running_var")) return { kind: "fill", value: 1 };
  if (name.endsWith(".bias") || name.endsWith(".running_mean") || /\.moe\.b[12]?$/.test(name))
    return { kind: "fill", value: 0 };
  if (/\.router\.w[12]\.weight$/.test(name)) return { kind: "normal", std: 1 / Math.sqrt(c.hiddenSize) };
  return { kind: "normal", std: INIT_STD };
}

/** Greedy, in order: a shard takes tensors until the next would push it past the limit. */
function planShards(plan: Planned[], maxBytes: number): Planned[][] {
  const shards: Planned[][] = [];
  let cur: Planned[] = [];
  let size = 0;
  for (const t of plan) {
    if (cur.length > 0 && size + t.bytes > maxBytes) {
      shards.push(cur);
      cur = [];
      size = 0;
    }
    cur.push(t);
    size += t.bytes;
  }
  shards.push(cur);
  return shards;
}

async function removeOldWeights(dir: string): Promise<void> {
  const old = (await readdir(dir)).filter(
    (f) =>
      f === "model.safetensors" ||
      f === "model.safetensors.index.json" ||
      /^model-\d+-of-\d+\.safetensors$/.test(f),
  );
  await Promise.all(old.map((f) => rm(join(dir, f), { force: true })));
}

/** The tensor's bytes in chunks of up to CHUNK values; the chunk buffer is reused. */
function* tensorChunks(t: Planned, seed: number, progress: (bytes: number) => void): Generator<Uint8Array> {
  const count = numel(t.shape);
  if (t.dtype === "I64") {
    const b = new Uint8Array(8 * count);
    new BigInt64Array(b.buffer).fill(BigInt(t.init.kind === "fill" ? t.init.value : 0));
    progress(b.byteLength);
    yield b;
    return;
  }
  const values = new Float32Array(Math.min(count, CHUNK));
  const bf16 = t.dtype === "BF16" ? new Uint16Array(values.length) : undefined;
  const rng = t.init.kind === "normal" ? new Rng(seed, t.name) : undefined;
  if (t.init.kind === "fill") values.fill(t.init.value);
  for (let done = 0; done < count; ) {
    const n = Math.min(CHUNK, count - done);
    const v = values.subarray(0, n);
    if (rng && t.init.kind === "normal") rng.fillNormal(v, t.init.std);
    const bytes = bf16
      ? new Uint8Array(float32ToBFloat16Bits(v, bf16).buffer, 0, 2 * n)
      : new Uint8Array(v.buffer, 0, 4 * n);
    done += n;
    progress(bytes.byteLength);
    yield bytes;
  }
}

const pad5 = (i: number): string => String(i).padStart(5, "0");

/**
 * xoshiro128** seeded from (seed, tensor name) through splitmix32. Normal samples come from a
 * table of the normal quantile function (65,537 points, interpolated linearly with the low 16
 * bits): one PRNG step per value, ~5× faster than Box–Muller, which matters at 1.46 B values.
 * Tails are cut at ±4.3σ (like a truncated-normal init); the table is rescaled to unit variance.
 */
class Rng {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;

  constructor(seed: number, stream: string) {
    let h = 0x811c9dc5 ^ (seed >>> 0); // FNV-1a of the name, started from the seed
    for (let i = 0; i < stream.length; i++) h = Math.imul(h ^ stream.charCodeAt(i), 0x01000193);
    let x = (h ^ Math.floor(seed / 2 ** 32)) >>> 0;
    const next = (): number => {
      x = (x + 0x9e3779b9) >>> 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.s0 = next();
    this.s1 = next();
    this.s2 = next();
    this.s3 = next() | 1; // never all zero
  }

  /** Fills `out` with N(0, std²) samples. */
  fillNormal(out: Float32Array, std: number): void {
    const q = normalQuantiles();
    let s0 = this.s0,
      s1 = this.s1,
      s2 = this.s2,
      s3 = this.s3;
    for (let i = 0; i < out.length; i++) {
      const r = Math.imul(s1, 5);
      const u = Math.imul((r << 7) | (r >>> 25), 9) >>> 0;
      const t = s1 << 9;
      s2 ^= s0;
      s3 ^= s1;
      s1 ^= s2;
      s0 ^= s3;
      s2 ^= t;
      s3 = (s3 << 11) | (s3 >>> 21);
      const k = u >>> 16;
      const lo = q[k]!;
      out[i] = std * (lo + (q[k + 1]! - lo) * (u & 0xffff) * (1 / 65536));
    }
    this.s0 = s0;
    this.s1 = s1;
    this.s2 = s2;
    this.s3 = s3;
  }
}

const QUANTILE_CELLS = 65536;
let quantiles: Float32Array | undefined;

/** Φ⁻¹((k + ½) / (N + 1)) for k = 0..N, scaled so the interpolated distribution has variance 1. */
function normalQuantiles(): Float32Array {
  if (quantiles) return quantiles;
  const n = QUANTILE_CELLS;
  const q = new Float64Array(n + 1).map((_, k) => inverseNormalCdf((k + 0.5) / (n + 1)));
  // Second moment of the piecewise-linear quantile function: mean over cells of (a² + ab + b²)/3.
  let m2 = 0;
  for (let k = 0; k < n; k++) m2 += (q[k]! ** 2 + q[k]! * q[k + 1]! + q[k + 1]! ** 2) / 3;
  const scale = 1 / Math.sqrt(m2 / n);
  quantiles = Float32Array.from(q, (v) => v * scale);
  return quantiles;
}

/** Acklam's rational approximation of the standard normal quantile (relative error < 1.2e-9). */
function inverseNormalCdf(p: number): number {
  if (p > 0.5) return -inverseNormalCdf(1 - p);
  if (p < 0.02425) {
    const t = Math.sqrt(-2 * Math.log(p));
    return (
      (((((-7.784894002430293e-3 * t - 3.223964580411365e-1) * t - 2.400758277161838) * t -
        2.549732539343734) *
        t +
        4.374664141464968) *
        t +
        2.938163982698783) /
      ((((7.784695709041462e-3 * t + 3.224671290700398e-1) * t + 2.445134137142996) * t + 3.754408661907416) *
        t +
        1)
    );
  }
  const x = p - 0.5;
  const r = x * x;
  return (
    ((((((-3.969683028665376e1 * r + 2.209460984245205e2) * r - 2.759285104469687e2) * r +
      1.38357751867269e2) *
      r -
      3.066479806614716e1) *
      r +
      2.506628277459239) *
      x) /
    (((((-5.447609879822406e1 * r + 1.615858368580409e2) * r - 1.556989798598866e2) * r +
      6.680131188771972e1) *
      r -
      1.328068155288572e1) *
      r +
      1)
  );
}
