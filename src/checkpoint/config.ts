// Reads and validates a CodeMonet `config.json` (Hugging Face `MonetConfig`, snake_case keys)
// into the typed, camelCase configuration the rest of the project uses.
import { join } from "node:path";
import { FileAccessError, readRegularText, readRegularTextAsync } from "../files/regular-file";
import { CheckpointError } from "./errors";

export interface MonetConfig {
  vocabSize: number;
  hiddenSize: number;
  numLayers: number;
  numHeads: number;
  numKvHeads: number;
  headDim: number;
  rmsNormEps: number;
  ropeTheta: number;
  maxPositionEmbeddings: number;
  tieWordEmbeddings: boolean;
  bosTokenId: number;
  /** The first end-of-sequence id (config.json may give a list: see eosTokenIds). */
  eosTokenId: number;
  /**
   * Every end-of-sequence id: `eos_token_id` may be an int or a list of ints; Checkpoint.open
   * adds generation_config.json's.
   */
  eosTokenIds: number[];
  moeDim: number;
  moeHeads: number;
  moeExperts: number;
  moeTopk: number;
  moeGroups: number;
  moeDecompose: "vertical" | "horizontal";
  hiddenAct: string;
}

/** Upstream MonetConfig defaults (dmis-lab/Monet), used for keys config.json leaves out. */
export const HF_CONFIG_DEFAULTS = {
  vocab_size: 32000,
  hidden_size: 4096,
  num_hidden_layers: 32,
  num_attention_heads: 32,
  hidden_act: "relu2",
  max_position_embeddings: 2048,
  rms_norm_eps: 1e-6,
  rope_theta: 10000,
  tie_word_embeddings: false,
  bos_token_id: 1,
  eos_token_id: 2,
  moe_dim: 8,
  moe_heads: 8,
  moe_experts: 512,
  moe_topk: 32,
  moe_groups: 4,
  moe_decompose: "vertical",
} as const;

const FIX = "check config.json against the checkpoint's model card, or re-download it";

/**
 * The sizes Monet Lens supports, far beyond any real checkpoint. Each sizes something built
 * from config.json alone, before any weight is read: the tensor list (layers), the RoPE
 * tables (positions × head size), the masks (groups × experts²), the KV cache.
 */
export const CONFIG_LIMITS: Partial<Record<keyof typeof HF_CONFIG_DEFAULTS, number>> = {
  vocab_size: 1 << 22,
  hidden_size: 1 << 16,
  num_hidden_layers: 1024,
  num_attention_heads: 1024,
  max_position_embeddings: 1 << 17,
  moe_dim: 1 << 16,
  moe_heads: 1024,
  moe_experts: 4096,
  moe_groups: 1024,
};
/** Fewer positions than this leave no room for a prompt and a completion. */
export const MIN_POSITIONS = 16;

/** Most bytes a config.json may have (real ones have about 1 kB). */
export const CONFIG_MAX_BYTES = 4 << 20;
const CONFIG_READ = { maxBytes: CONFIG_MAX_BYTES, what: "config.json" };

export function loadConfig(dir: string): MonetConfig {
  const file = join(dir, "config.json");
  let text: string;
  try {
    text = readRegularText(file, CONFIG_READ);
  } catch (e) {
    throw configReadError(file, e);
  }
  return parseConfigText(text, file);
}

/** loadConfig without blocking the thread (the extension host). */
export async function loadConfigAsync(dir: string): Promise<MonetConfig> {
  const file = join(dir, "config.json");
  let text: string;
  try {
    text = await readRegularTextAsync(file, CONFIG_READ);
  } catch (e) {
    throw configReadError(file, e);
  }
  return parseConfigText(text, file);
}

function configReadError(file: string, e: unknown): CheckpointError {
  if (e instanceof FileAccessError && e.problem === "missing") {
    return new CheckpointError(
      file,
      "config.json is missing: a Hugging Face CodeMonet folder needs config.json next to its .safetensors weights (download the whole model folder)",
    );
  }
  return new CheckpointError(file, e instanceof FileAccessError ? e.reason : String(e));
}

function parseConfigText(text: string, file: string): MonetConfig {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new CheckpointError(
      file,
      `config.json is not valid JSON (${(e as Error).message}): re-download it`,
    );
  }
  return parseConfig(json, file);
}

export function parseConfig(json: unknown, file: string): MonetConfig {
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    throw new CheckpointError(
      file,
      `config.json must hold a JSON object, found ${describe(json)}: re-download it`,
    );
  }
  const raw = json as Record<string, unknown>;
  const fail = (message: string): never => {
    throw new CheckpointError(file, message);
  };
  checkArchitecture(raw, fail);

  const int = (
    key: keyof typeof HF_CONFIG_DEFAULTS,
    min: number,
    max = CONFIG_LIMITS[key] ?? Infinity,
  ): number => {
    const v = valueOr(raw, key);
    if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) {
      const range = max === Infinity ? `≥ ${min}` : `from ${min} to ${max} (what Monet Lens supports)`;
      fail(`"${key}" must be an integer ${range}, found ${describe(v)}: ${FIX}`);
    }
    return v as number;
  };
  const positive = (key: keyof typeof HF_CONFIG_DEFAULTS): number => {
    const v = valueOr(raw, key);
    if (typeof v !== "number" || !Number.isFinite(v) || v <= 0) {
      fail(`"${key}" must be a positive number, found ${describe(v)}: ${FIX}`);
    }
    return v as number;
  };

  const vocabSize = int("vocab_size", 1);
  const hiddenSize = int("hidden_size", 1);
  const numLayers = int("num_hidden_layers", 1);
  const numHeads = int("num_attention_heads", 1);
  const kvRaw = raw["num_key_value_heads"];
  const numKvHeads = kvRaw === undefined || kvRaw === null ? numHeads : (kvRaw as number);
  if (
    typeof numKvHeads !== "number" ||
    !Number.isInteger(numKvHeads) ||
    numKvHeads < 1 ||
    numKvHeads > numHeads
  ) {
    fail(
      `"num_key_value_heads" must be an integer from 1 to "num_attention_heads" (${numHeads}), found ${describe(kvRaw)}: ${FIX}`,
    );
  }
  const maxPositionEmbeddings = int("max_position_embeddings", MIN_POSITIONS);
  const bosTokenId = int("bos_token_id", 0, vocabSize - 1);
  const eosTokenIds = eosIds(valueOr(raw, "eos_token_id"), vocabSize, fail);
  const eosTokenId = eosTokenIds[0]!;
  const moeDim = int("moe_dim", 1);
  const moeHeads = int("moe_heads", 1);
  const moeExperts = int("moe_experts", 1);
  const moeTopk = int("moe_topk", 1);
  const moeGroups = int("moe_groups", 1);
  const rmsNormEps = positive("rms_norm_eps");
  const ropeTheta = positive("rope_theta");

  const tie = valueOr(raw, "tie_word_embeddings");
  if (typeof tie !== "boolean")
    fail(`"tie_word_embeddings" must be true or false, found ${describe(tie)}: ${FIX}`);

  const decompose = valueOr(raw, "moe_decompose");
  if (decompose !== "vertical" && decompose !== "horizontal") {
    fail(
      `unknown "moe_decompose" ${describe(decompose)}: CodeMonet checkpoints use "vertical" (VD) or "horizontal" (HD); ${FIX}`,
    );
  }
  const hiddenAct = valueOr(raw, "hidden_act");
  if (hiddenAct !== "relu2") {
    fail(
      `"hidden_act" is ${describe(hiddenAct)} but Monet experts use "relu2" (squared ReLU), the only activation supported: ${FIX}`,
    );
  }
  if (raw["rope_scaling"] !== undefined && raw["rope_scaling"] !== null) {
    fail(
      `"rope_scaling" is set (${JSON.stringify(raw["rope_scaling"])}) but RoPE scaling is not supported: use a checkpoint without it (CodeMonet checkpoints have "rope_scaling": null)`,
    );
  }

  if (hiddenSize % numHeads !== 0) {
    fail(`"hidden_size" ${hiddenSize} is not divisible by "num_attention_heads" ${numHeads}: ${FIX}`);
  }
  if (numHeads % numKvHeads !== 0) {
    fail(`"num_attention_heads" ${numHeads} is not divisible by "num_key_value_heads" ${numKvHeads}: ${FIX}`);
  }
  const headDim = hiddenSize / numHeads;
  const explicitHeadDim = raw["head_dim"];
  if (explicitHeadDim !== undefined && explicitHeadDim !== null && explicitHeadDim !== headDim) {
    fail(
      `"head_dim" ${describe(explicitHeadDim)} differs from hidden_size / num_attention_heads = ${headDim}, which Monet attention requires: ${FIX}`,
    );
  }
  if (decompose === "vertical") {
    if (moeDim % 2 !== 0)
      fail(
        `"moe_dim" ${moeDim} is odd, but the vertical decomposition splits each expert in two halves: ${FIX}`,
      );
    if (hiddenSize % 2 !== 0)
      fail(
        `"hidden_size" ${hiddenSize} is odd, but the vertical decomposition splits the output in two halves: ${FIX}`,
      );
  }
  if (headDim % 2 !== 0) {
    fail(
      `"hidden_size" / "num_attention_heads" = ${headDim} is odd, but rotary position embeddings rotate pairs of dimensions: ${FIX}`,
    );
  }
  if (moeTopk > moeExperts) {
    fail(`"moe_topk" ${moeTopk} is larger than "moe_experts" ${moeExperts}: ${FIX}`);
  }

  return {
    vocabSize,
    hiddenSize,
    numLayers,
    numHeads,
    numKvHeads,
    headDim,
    rmsNormEps,
    ropeTheta,
    maxPositionEmbeddings,
    tieWordEmbeddings: tie as boolean,
    bosTokenId,
    eosTokenId,
    eosTokenIds,
    moeDim,
    moeHeads,
    moeExperts,
    moeTopk,
    moeGroups,
    moeDecompose: decompose as "vertical" | "horizontal",
    hiddenAct: hiddenAct as string,
  };
}

/** `eos_token_id`: an id, or (as newer transformers write it) a non-empty list of ids. */
/** eos_token_id: one id or (as some published configs write it) a non-empty list of ids. */
function eosIds(v: unknown, vocabSize: number, fail: (m: string) => never): number[] {
  const list = Array.isArray(v) ? v : [v];
  const bad = list.find((x) => typeof x !== "number" || !Number.isInteger(x) || x < 0 || x >= vocabSize);
  if (list.length === 0 || bad !== undefined)
    fail(
      `"eos_token_id" must be an integer from 0 to ${vocabSize - 1} or a non-empty list of them, ` +
        `found ${describe(bad ?? v)}: ${FIX}`,
    );
  return list as number[];
}

/** Number of routers (routing groups): layers l with l % moeGroups == 0. */
export function routingGroupCount(c: MonetConfig): number {
  return Math.ceil(c.numLayers / c.moeGroups);
}

/** Experts per routing group: every pair (i, j) of the two E-way routers. */
export function expertsPerGroup(c: MonetConfig): number {
  return c.moeExperts * c.moeExperts;
}

/** The config value, or the upstream default when the key is absent or null. */
function valueOr(raw: Record<string, unknown>, key: keyof typeof HF_CONFIG_DEFAULTS): unknown {
  const v = raw[key];
  return v === undefined || v === null ? HF_CONFIG_DEFAULTS[key] : v;
}

function checkArchitecture(raw: Record<string, unknown>, fail: (m: string) => never): void {
  const modelType = raw["model_type"];
  const archs = raw["architectures"];
  const what = [
    modelType !== undefined ? `model_type ${JSON.stringify(modelType)}` : "",
    archs !== undefined ? `architectures ${JSON.stringify(archs)}` : "",
  ]
    .filter(Boolean)
    .join(", ");
  const notMonet = (): never =>
    fail(
      `not a CodeMonet checkpoint (${what}): Monet Lens runs only Monet models (model_type "monet", MonetForCausalLM); pick a CodeMonet folder such as the bundled tiny-codemonet`,
    );
  if (modelType !== undefined && modelType !== null && modelType !== "monet") notMonet();
  if (archs !== undefined && archs !== null) {
    if (!Array.isArray(archs) || !archs.some((a) => typeof a === "string" && a.startsWith("Monet")))
      notMonet();
  }
}

function describe(v: unknown): string {
  if (v === undefined) return "nothing";
  if (Array.isArray(v)) return "an array";
  if (v === null) return "null";
  return typeof v === "string" ? JSON.stringify(v) : typeof v === "object" ? "an object" : String(v);
}
