// A Hugging Face CodeMonet folder: config.json plus `model.safetensors` or shards listed in
// `model.safetensors.index.json`. Opening reads only config.json and the shard headers; tensor
// data is read on demand. Validation checks every tensor the config implies (and no more).
import { createHash } from "node:crypto";
import { existsSync, statSync } from "node:fs";
import { isAbsolute, join, relative, resolve, sep, win32 } from "node:path";
import { loadConfigAsync, type MonetConfig } from "./config";
import { FileAccessError, readRegularFileAsync, readRegularTextAsync } from "../files/regular-file";
import { contentSha256, type ContentHashOptions, type HashSource } from "./content-hash";
import { loadTokenizerConfig, type TokenizerConfig } from "./tokenizer-config";
import { loadGenerationEosIds } from "./generation-config";
import { CheckpointError } from "./errors";
import {
  SafetensorsFile,
  numel,
  toFloat16Bits,
  toFloat32,
  type Dtype,
  type SafetensorsEntry,
} from "./safetensors";

export interface TensorInfo {
  name: string;
  dtype: Dtype;
  shape: number[];
  /** Absolute path of the .safetensors file holding the tensor. */
  file: string;
}

export interface OpenOptions {
  /** Check tensor names and shapes against config.json (default true). */
  validate?: boolean;
}

const SINGLE_FILE = "model.safetensors";
const INDEX_FILE = "model.safetensors.index.json";

/** BatchNorm's step counter: stored by PyTorch, unused by the model. */
const isBatchCounter = (name: string): boolean => name.endsWith(".num_batches_tracked");
/** BatchNorm running statistics: float buffers, not learnable parameters. */
const isRunningStat = (name: string): boolean =>
  name.endsWith(".running_mean") || name.endsWith(".running_var");
/**
 * RoPE's inverse frequencies, which older transformers versions saved with the weights
 * (per layer, or once at model level): a buffer the model recomputes from rope_theta.
 */
const isStoredInvFreq = (name: string): boolean =>
  /^model\.(layers\.\d+\.self_attn\.)?rotary_emb\.inv_freq$/.test(name);

interface Located {
  shard: SafetensorsFile;
  entry: SafetensorsEntry;
}

export class Checkpoint {
  private fingerprintCache: Promise<string> | undefined;

  private constructor(
    readonly dir: string,
    readonly config: MonetConfig,
    private readonly shards: readonly SafetensorsFile[],
    private readonly tensors: ReadonlyMap<string, Located>,
    private readonly indexPath: string | undefined,
    /** tokenizer_config.json's add_bos_token / add_eos_token (LlamaTokenizer defaults when absent). */
    readonly tokenizerConfig: TokenizerConfig,
  ) {}

  static async open(dir: string, opts: OpenOptions = {}): Promise<Checkpoint> {
    const root = resolve(dir);
    checkFolder(root);
    const config = await withGenerationEos(await loadConfigAsync(root), root);
    const layout = await findWeights(root);
    const shards = await openShards(layout.shardFiles, layout.indexPath);
    try {
      const tensors = locateTensors(shards, layout.weightMap, layout.indexPath);
      if (opts.validate ?? true)
        validateTensors(
          config,
          tensors,
          shards,
          layout.weightMap,
          layout.indexPath ?? join(root, SINGLE_FILE),
          root,
        );
      if (opts.validate ?? true) await checkStoredInvFreq(config, tensors, root);
      return new Checkpoint(root, config, shards, tensors, layout.indexPath, await loadTokenizerConfig(root));
    } catch (e) {
      await Promise.all(shards.map((s) => s.close()));
      throw e;
    }
  }

  has(name: string): boolean {
    return this.tensors.has(name);
  }

  info(name: string): TensorInfo {
    const { shard, entry } = this.locate(name);
    return { name, dtype: entry.dtype, shape: [...entry.shape], file: shard.path };
  }

  /** Every tensor name, sorted. */
  names(): string[] {
    return [...this.tensors.keys()].sort();
  }

  async readFloat32(name: string): Promise<Float32Array> {
    const { shard, entry } = this.locateFloat(name);
    return toFloat32(await shard.readTensorBytes(name), entry.dtype);
  }

  /** IEEE half bit patterns (bf16/f32 rounded to nearest even). */
  async readFloat16(name: string): Promise<Uint16Array> {
    const { shard, entry } = this.locateFloat(name);
    return toFloat16Bits(await shard.readTensorBytes(name), entry.dtype);
  }

  /**
   * Learnable parameters, as PyTorch's `sum(p.numel() for p in model.parameters())` counts
   * them: BatchNorm buffers (running_mean/var, num_batches_tracked) are not parameters.
   */
  parameterCount(): number {
    let n = 0;
    for (const [name, { entry }] of this.tensors) {
      if (entry.dtype !== "I64" && !isRunningStat(name) && !isStoredInvFreq(name)) n += numel(entry.shape);
    }
    return n;
  }

  /** The dtype all float tensors share ("BF16" for published checkpoints), or "mixed". */
  storedDtype(): string {
    const dtypes = new Set<string>();
    for (const { entry } of this.tensors.values()) if (entry.dtype !== "I64") dtypes.add(entry.dtype);
    return dtypes.size === 1 ? [...dtypes][0]! : dtypes.size === 0 ? "none" : "mixed";
  }

  /**
   * Content key for caches of derived files (converted ONNX models, atlases): sha256 over
   * config.json, the index, and per shard its name, size and the sha256 of its full content
   * (content-hash.ts: free for Hugging Face cache blobs, else computed once and remembered by
   * path, size and mtime). No paths or mtimes in the key itself, so a copied or moved
   * checkpoint hits the cache; any changed byte of any shard gives another key.
   */
  fingerprint(opts: FingerprintOptions = {}): Promise<string> {
    this.fingerprintCache ??= this.computeFingerprint(opts);
    return this.fingerprintCache;
  }

  async close(): Promise<void> {
    await Promise.all(this.shards.map((s) => s.close()));
  }

  private async computeFingerprint(opts: FingerprintOptions): Promise<string> {
    const h = createHash("sha256");
    const part = (bytes: Uint8Array): void => {
      const len = Buffer.alloc(8);
      len.writeBigUInt64LE(BigInt(bytes.byteLength));
      h.update(len);
      h.update(bytes);
    };
    part(Buffer.from("monet-lens checkpoint fingerprint v2"));
    // Both were read and checked at open; the bound only keeps a file swapped since then small.
    const small = { maxBytes: 64 << 20, what: "checkpoint metadata" };
    part(await readRegularFileAsync(join(this.dir, "config.json"), small));
    part(this.indexPath ? await readRegularFileAsync(this.indexPath, small) : new Uint8Array(0));
    const shards = [...this.shards].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    for (const s of shards) {
      const { sha256, source } = await contentSha256(s.path, opts);
      opts.onShardHash?.(s.path, source);
      part(Buffer.from(relative(this.dir, s.path).split(sep).join("/")));
      part(Buffer.from(String(s.size)));
      part(Buffer.from(sha256, "hex"));
    }
    return h.digest("hex");
  }

  private locate(name: string): Located {
    const t = this.tensors.get(name);
    if (!t) throw new CheckpointError(this.dir, `the checkpoint has no tensor "${name}"`);
    return t;
  }

  private locateFloat(name: string): Located {
    const t = this.locate(name);
    if (t.entry.dtype === "I64")
      throw new CheckpointError(t.shard.path, `tensor "${name}" is I64, not a float tensor`);
    return t;
  }
}

export interface FingerprintOptions extends ContentHashOptions {
  /** Told how each shard's content hash was had (for tests and logs). */
  onShardHash?: (file: string, source: HashSource) => void;
}

/**
 * Stored `rotary_emb.inv_freq` buffers must have RoPE's shape and the values rope_theta gives
 * (θ^(-2i/hd), to bf16 precision); then they are ignored, as the model recomputes them.
 */
/** config.json's end-of-sequence ids and generation_config.json's, each once (config.json's first). */
async function withGenerationEos(config: MonetConfig, root: string): Promise<MonetConfig> {
  const extra = await loadGenerationEosIds(root, config.vocabSize);
  const ids = [...new Set([...config.eosTokenIds, ...extra])];
  return ids.length === config.eosTokenIds.length ? config : { ...config, eosTokenIds: ids };
}

async function checkStoredInvFreq(
  c: MonetConfig,
  tensors: ReadonlyMap<string, Located>,
  root: string,
): Promise<void> {
  const half = c.headDim / 2;
  for (const [name, { shard, entry }] of tensors) {
    if (!isStoredInvFreq(name)) continue;
    if (entry.dtype === "I64" || !sameShape(entry.shape, [half]))
      throw new CheckpointError(
        shard.path,
        `tensor "${name}" has ${entry.dtype} shape ${fmt(entry.shape)} but RoPE's inverse frequencies for head size ${c.headDim} are [${half}] floats: ${join(root, "config.json")} most likely does not belong to these weights`,
      );
    const stored = toFloat32(await shard.readTensorBytes(name), entry.dtype);
    for (let i = 0; i < half; i++) {
      const want = c.ropeTheta ** (-(2 * i) / c.headDim);
      if (!(Math.abs(stored[i]! - want) <= 1e-2 * want))
        throw new CheckpointError(
          shard.path,
          `tensor "${name}" holds RoPE frequencies for another rope_theta (element ${i} is ${stored[i]}, rope_theta ${c.ropeTheta} gives ${want}): set "rope_theta" in config.json to the value the model was trained with`,
        );
    }
  }
}

/** Every tensor a checkpoint with this config must hold → its shape, in Hugging Face order. */
export function expectedTensors(c: MonetConfig): Map<string, number[]> {
  const d = c.hiddenSize;
  const hd = c.headDim;
  const E = c.moeExperts;
  const m = c.moeDim;
  const out = new Map<string, number[]>();
  out.set("model.embed_tokens.weight", [c.vocabSize, d]);
  for (let l = 0; l < c.numLayers; l++) {
    const p = `model.layers.${l}.`;
    out.set(`${p}self_attn.q_proj.weight`, [c.numHeads * hd, d]);
    out.set(`${p}self_attn.k_proj.weight`, [c.numKvHeads * hd, d]);
    out.set(`${p}self_attn.v_proj.weight`, [c.numKvHeads * hd, d]);
    out.set(`${p}self_attn.o_proj.weight`, [d, c.numHeads * hd]);
    out.set(`${p}input_layernorm.weight`, [d]);
    out.set(`${p}post_attention_layernorm.weight`, [d]);
    if (c.moeDecompose === "vertical") {
      const half = (E * m) / 2;
      out.set(`${p}moe.b1`, [E, d / 2]);
      out.set(`${p}moe.b2`, [E, d / 2]);
      out.set(`${p}moe.u1.weight`, [half, d]);
      out.set(`${p}moe.u1.bias`, [half]);
      out.set(`${p}moe.u2.weight`, [half, d]);
      out.set(`${p}moe.u2.bias`, [half]);
      for (const v of ["v11", "v12", "v21", "v22"]) out.set(`${p}moe.${v}.weight`, [d / 2, half]);
    } else {
      out.set(`${p}moe.b`, [E, d]);
      out.set(`${p}moe.u.weight`, [E * m, d]);
      out.set(`${p}moe.u.bias`, [E * m]);
      out.set(`${p}moe.v.weight`, [d, E * m]);
    }
    if (l % c.moeGroups === 0) {
      out.set(`${p}router.w1.weight`, [c.moeHeads * E, d]);
      out.set(`${p}router.w2.weight`, [c.moeHeads * E, d]);
      for (const n of ["norm1", "norm2"]) {
        out.set(`${p}router.${n}.running_mean`, [c.moeHeads]);
        out.set(`${p}router.${n}.running_var`, [c.moeHeads]);
      }
    }
  }
  out.set("model.norm.weight", [d]);
  if (!c.tieWordEmbeddings) out.set("lm_head.weight", [c.vocabSize, d]);
  return out;
}

// ---- opening --------------------------------------------------------------------------------

function checkFolder(root: string): void {
  let isDir: boolean;
  try {
    isDir = statSync(root).isDirectory();
  } catch {
    throw new CheckpointError(
      root,
      "the model folder does not exist: check the path (it should be a Hugging Face CodeMonet folder with config.json and .safetensors weights)",
    );
  }
  if (!isDir)
    throw new CheckpointError(
      root,
      "this is a file, not a model folder: give the folder that holds config.json and the .safetensors weights",
    );
}

interface WeightsLayout {
  shardFiles: string[];
  /** name → shard path; undefined for a single model.safetensors (all its tensors count). */
  weightMap: Map<string, string> | undefined;
  indexPath: string | undefined;
}

async function findWeights(root: string): Promise<WeightsLayout> {
  // Same precedence as transformers: a single model.safetensors wins over an index.
  const single = join(root, SINGLE_FILE);
  if (existsSync(single)) return { shardFiles: [single], weightMap: undefined, indexPath: undefined };
  const indexPath = join(root, INDEX_FILE);
  if (existsSync(indexPath)) return readIndex(root, indexPath);
  if (existsSync(join(root, "pytorch_model.bin")) || existsSync(join(root, "pytorch_model.bin.index.json"))) {
    throw new CheckpointError(
      root,
      "this checkpoint has PyTorch .bin weights, which are not supported (they are pickles and can run code): convert it to safetensors, e.g. load it in transformers and save_pretrained(..., safe_serialization=True), or download the safetensors version",
    );
  }
  throw new CheckpointError(
    root,
    `no weights found: expected ${SINGLE_FILE} or ${INDEX_FILE} with its shards next to config.json; download the whole model folder`,
  );
}

/** Most bytes a model.safetensors.index.json may have (real ones: tens of kB). */
export const INDEX_MAX_BYTES = 64 << 20;

async function readIndex(root: string, indexPath: string): Promise<WeightsLayout> {
  const fail = (message: string): never => {
    throw new CheckpointError(indexPath, message);
  };
  let json: unknown;
  let text: string;
  try {
    text = await readRegularTextAsync(indexPath, { maxBytes: INDEX_MAX_BYTES, what: INDEX_FILE });
  } catch (e) {
    return fail(e instanceof FileAccessError ? e.reason : String(e));
  }
  try {
    json = JSON.parse(text);
  } catch (e) {
    fail(`${INDEX_FILE} is not valid JSON (${(e as Error).message}): re-download it`);
  }
  const map = (json as { weight_map?: unknown } | null)?.weight_map;
  if (typeof map !== "object" || map === null || Array.isArray(map)) {
    fail(`${INDEX_FILE} has no "weight_map" object (tensor name → shard file): re-download it`);
  }
  const weightMap = new Map<string, string>();
  const shardFiles = new Set<string>();
  for (const [name, file] of Object.entries(map as Record<string, unknown>)) {
    if (typeof file !== "string")
      fail(`"weight_map" entry "${name}" is not a file name: re-download ${INDEX_FILE}`);
    const path = shardPath(root, file as string, fail);
    shardFiles.add(path);
    weightMap.set(name, path);
  }
  if (shardFiles.size === 0) fail(`${INDEX_FILE} lists no tensors: re-download it`);
  return { shardFiles: [...shardFiles], weightMap, indexPath };
}

/** Resolves a shard name from the index; it must name a .safetensors file inside the folder. */
function shardPath(root: string, file: string, fail: (m: string) => never): string {
  const segments = file.split(/[\\/]/);
  const escapes =
    isAbsolute(file) || win32.isAbsolute(file) || file.includes("\0") || segments.includes("..");
  const path = resolve(root, file);
  const rel = relative(root, path);
  if (escapes || rel === "" || rel.startsWith("..") || isAbsolute(rel)) {
    fail(
      `shard path ${JSON.stringify(file)} points outside the model folder, which is not allowed: shard files must sit next to ${INDEX_FILE}; fix or re-download the index`,
    );
  }
  if (!file.endsWith(".safetensors"))
    fail(`shard ${JSON.stringify(file)} is not a .safetensors file: only safetensors weights are supported`);
  return path;
}

async function openShards(files: string[], indexPath: string | undefined): Promise<SafetensorsFile[]> {
  const results = await Promise.allSettled(
    files.map(async (f) => {
      if (indexPath && !existsSync(f)) {
        throw new CheckpointError(
          f,
          `shard listed in ${indexPath} is missing: the download is incomplete; download the missing shard (or the whole folder) again`,
        );
      }
      return SafetensorsFile.open(f);
    }),
  );
  const opened = results.flatMap((r) => (r.status === "fulfilled" ? [r.value] : []));
  const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
  if (failed) {
    await Promise.all(opened.map((s) => s.close()));
    throw failed.reason;
  }
  return opened;
}

function locateTensors(
  shards: readonly SafetensorsFile[],
  weightMap: Map<string, string> | undefined,
  indexPath: string | undefined,
): Map<string, Located> {
  const out = new Map<string, Located>();
  if (!weightMap) {
    const shard = shards[0]!;
    for (const entry of shard.tensors.values()) out.set(entry.name, { shard, entry });
    return out;
  }
  const byPath = new Map(shards.map((s) => [s.path, s]));
  for (const [name, path] of weightMap) {
    const shard = byPath.get(path)!;
    const entry = shard.tensors.get(name);
    if (!entry) {
      throw new CheckpointError(
        path,
        `tensor "${name}" is listed in ${indexPath} for this shard but the shard does not contain it: the index and the shards come from different downloads; re-download the folder`,
      );
    }
    out.set(name, { shard, entry });
  }
  return out;
}

// ---- validation -----------------------------------------------------------------------------

const LIST = 5;
const listNames = (names: string[]): string =>
  names
    .slice(0, LIST)
    .map((n) => `"${n}"`)
    .join(", ") + (names.length > LIST ? ` and ${names.length - LIST} more` : "");

function validateTensors(
  c: MonetConfig,
  tensors: ReadonlyMap<string, Located>,
  shards: readonly SafetensorsFile[],
  weightMap: Map<string, string> | undefined,
  weightsFile: string,
  root: string,
): void {
  const configFile = join(root, "config.json");
  const expected = expectedTensors(c);

  // Tensors stored in a shard that the index does not map there: the index is stale.
  if (weightMap) {
    for (const s of shards) {
      const stray = [...s.tensors.keys()].filter((n) => weightMap.get(n) !== s.path);
      if (stray.length > 0) {
        throw new CheckpointError(
          s.path,
          `holds ${listNames(stray)}, which ${weightsFile} does not map to this shard: the index and the shards come from different downloads; re-download the folder`,
        );
      }
    }
  }

  const wrongShape: string[] = [];
  let firstWrong: { file: string; text: string } | undefined;
  for (const [name, shape] of expected) {
    const t = tensors.get(name);
    if (!t) continue;
    if (t.entry.dtype === "I64") {
      throw new CheckpointError(
        t.shard.path,
        `tensor "${name}" is stored as I64 but must be a float tensor (BF16, F16 or F32): the file is not a CodeMonet checkpoint or is corrupt`,
      );
    }
    if (!sameShape(shape, t.entry.shape)) {
      wrongShape.push(name);
      firstWrong ??= {
        file: t.shard.path,
        text: `tensor "${name}" has shape ${fmt(t.entry.shape)} but ${configFile} implies ${fmt(shape)}`,
      };
    }
  }
  if (firstWrong) {
    const more = wrongShape.length > 1 ? ` (and ${wrongShape.length - 1} more tensors differ)` : "";
    throw new CheckpointError(
      firstWrong.file,
      `${firstWrong.text}${more}: config.json most likely does not belong to these weights (check hidden_size, the head counts, vocab_size and the moe_* keys); use the config.json that came with the checkpoint`,
    );
  }

  const missing = [...expected.keys()].filter((n) => !tensors.has(n));
  if (missing.length > 0) {
    const tieHint = missing.includes("lm_head.weight")
      ? ` (if the model ties lm_head to embed_tokens, set "tie_word_embeddings": true in config.json)`
      : "";
    throw new CheckpointError(
      weightsFile,
      `missing ${missing.length === 1 ? "tensor" : `${missing.length} tensors`} ${listNames(missing)} that ${configFile} requires${tieHint}: the download is incomplete or config.json does not belong to these weights (check num_hidden_layers, moe_groups, moe_decompose); re-download the folder`,
    );
  }

  const extra = [...tensors.keys()].filter(
    (n) => !expected.has(n) && !isBatchCounter(n) && !isStoredInvFreq(n),
  );
  if (extra.length > 0) {
    const tieHint = extra.includes("lm_head.weight")
      ? ` (config.json says "tie_word_embeddings": true, yet the weights hold a separate lm_head; set it to false if the model is untied)`
      : "";
    throw new CheckpointError(
      tensors.get(extra[0]!)!.shard.path,
      `unexpected ${extra.length === 1 ? "tensor" : `${extra.length} tensors`} ${listNames(extra)} that a CodeMonet model with ${configFile} does not have${tieHint}: config.json most likely does not belong to these weights (check num_hidden_layers, moe_groups, moe_decompose); use the config.json that came with the checkpoint`,
    );
  }
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

const fmt = (shape: readonly number[]): string => `[${shape.join(", ")}]`;
