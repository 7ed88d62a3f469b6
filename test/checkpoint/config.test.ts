import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { expertsPerGroup, loadConfig, parseConfig, routingGroupCount } from "../../src/checkpoint/config";
import { CheckpointError } from "../../src/checkpoint/errors";

const FILE = "/models/some-model/config.json";
const DEMO = join(process.cwd(), "models", "tiny-codemonet");

/** A valid small VD config, to break one key at a time. */
const BASE = {
  architectures: ["MonetForCausalLM"],
  model_type: "monet",
  vocab_size: 512,
  hidden_size: 64,
  num_hidden_layers: 5,
  num_attention_heads: 4,
  num_key_value_heads: 2,
  moe_dim: 4,
  moe_heads: 2,
  moe_experts: 16,
  moe_topk: 4,
  rope_scaling: null,
};

function throwsCheckpointError(fn: () => unknown, pattern: RegExp, file = FILE): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof CheckpointError, `expected a CheckpointError, got ${String(e)}`);
    assert.equal(e.file, file);
    assert.ok(e.message.includes(file), `message should name the file: ${e.message}`);
    assert.match(e.message, pattern);
    return true;
  });
}

test("missing keys take the upstream defaults", () => {
  const c = parseConfig({}, FILE);
  assert.deepEqual(c, {
    vocabSize: 32000,
    hiddenSize: 4096,
    numLayers: 32,
    numHeads: 32,
    numKvHeads: 32,
    headDim: 128,
    rmsNormEps: 1e-6,
    ropeTheta: 10000,
    maxPositionEmbeddings: 2048,
    tieWordEmbeddings: false,
    bosTokenId: 1,
    eosTokenId: 2,
    eosTokenIds: [2],
    moeDim: 8,
    moeHeads: 8,
    moeExperts: 512,
    moeTopk: 32,
    moeGroups: 4,
    moeDecompose: "vertical",
    hiddenAct: "relu2",
  });
});

test("num_key_value_heads defaults to num_attention_heads; null counts as missing", () => {
  const c = parseConfig({ hidden_size: 64, num_attention_heads: 4, num_key_value_heads: null }, FILE);
  assert.equal(c.numKvHeads, 4);
  assert.equal(c.headDim, 16);
});

test("reads the demo model's config.json", () => {
  const c = loadConfig(DEMO);
  assert.equal(c.hiddenSize, 384);
  assert.equal(c.numLayers, 8);
  assert.equal(c.numHeads, 6);
  assert.equal(c.headDim, 64);
  assert.equal(c.moeHeads, 4);
  assert.equal(c.vocabSize, 8192);
  assert.equal(c.moeDecompose, "vertical");
  assert.equal(routingGroupCount(c), 2);
  assert.equal(expertsPerGroup(c), 262_144);
});

test("routing groups are the layers l with l % moe_groups == 0", () => {
  const g = (layers: number, groups: number): number =>
    routingGroupCount(parseConfig({ ...BASE, num_hidden_layers: layers, moe_groups: groups }, FILE));
  assert.equal(g(5, 4), 2); // layers 0 and 4
  assert.equal(g(8, 4), 2);
  assert.equal(g(24, 4), 6);
  assert.equal(g(1, 4), 1);
  assert.equal(g(6, 1), 6);
});

test("horizontal decomposition accepts odd moe_dim", () => {
  const c = parseConfig({ ...BASE, moe_decompose: "horizontal", moe_dim: 3 }, FILE);
  assert.equal(c.moeDecompose, "horizontal");
  assert.equal(c.moeDim, 3);
});

const INVALID: Array<[string, Record<string, unknown>, RegExp]> = [
  [
    "a llama checkpoint (model_type)",
    { model_type: "llama", architectures: ["LlamaForCausalLM"] },
    /not a CodeMonet checkpoint.*llama/,
  ],
  [
    "a llama checkpoint (architectures only)",
    { model_type: undefined, architectures: ["LlamaForCausalLM"] },
    /not a CodeMonet checkpoint/,
  ],
  ["unknown moe_decompose", { moe_decompose: "diagonal" }, /unknown "moe_decompose" "diagonal"/],
  [
    "hidden size not divisible by heads",
    { num_attention_heads: 5, num_key_value_heads: 5 },
    /"hidden_size" 64 is not divisible by "num_attention_heads" 5/,
  ],
  [
    "heads not divisible by kv heads",
    { num_key_value_heads: 3 },
    /"num_attention_heads" 4 is not divisible by "num_key_value_heads" 3/,
  ],
  ["odd moe_dim for vertical", { moe_dim: 3 }, /"moe_dim" 3 is odd/],
  [
    "odd hidden size for vertical",
    { hidden_size: 63, num_attention_heads: 3, num_key_value_heads: 1 },
    /"hidden_size" 63 is odd/,
  ],
  ["hidden_act not relu2", { hidden_act: "silu" }, /"hidden_act" is "silu".*relu2/],
  [
    "zero layers",
    { num_hidden_layers: 0 },
    /"num_hidden_layers" must be an integer from 1 to 1024 \(what Monet Lens supports\), found 0/,
  ],
  ["negative experts", { moe_experts: -16 }, /"moe_experts" must be an integer from 1 to 4096/],
  ["fractional hidden size", { hidden_size: 64.5 }, /"hidden_size" must be an integer/],
  [
    "string vocab size",
    { vocab_size: "512" },
    /"vocab_size" must be an integer from 1 to 4194304 .*, found "512"/,
  ],
  [
    "zero kv heads",
    { num_key_value_heads: 0 },
    /"num_key_value_heads" must be an integer from 1 to "num_attention_heads"/,
  ],
  ["moe_topk > moe_experts", { moe_topk: 17 }, /"moe_topk" 17 is larger than "moe_experts" 16/],
  [
    "rope_scaling set",
    { rope_scaling: { type: "linear", factor: 2 } },
    /"rope_scaling" is set.*not supported/,
  ],
  ["non-positive rms_norm_eps", { rms_norm_eps: 0 }, /"rms_norm_eps" must be a positive number/],
  [
    "tie_word_embeddings not boolean",
    { tie_word_embeddings: "yes" },
    /"tie_word_embeddings" must be true or false/,
  ],
  [
    "eos outside the vocabulary",
    { eos_token_id: 512 },
    /"eos_token_id" must be an integer from 0 to 511 .*, found 512/,
  ],
  ["head_dim contradicting hidden/heads", { head_dim: 32 }, /"head_dim" 32 differs/],
];

for (const [label, change, pattern] of INVALID) {
  test(`rejects ${label} with a CheckpointError naming the file`, () => {
    throwsCheckpointError(() => parseConfig({ ...BASE, ...change }, FILE), pattern);
  });
}

test("rejects a config that is not a JSON object", () => {
  throwsCheckpointError(() => parseConfig([1, 2], FILE), /must hold a JSON object/);
  throwsCheckpointError(() => parseConfig("monet", FILE), /must hold a JSON object/);
  throwsCheckpointError(() => parseConfig(null, FILE), /must hold a JSON object/);
});

test("loadConfig: a missing config.json and a config.json that is not JSON", () => {
  const dir = mkdtempSync(join(tmpdir(), "monet-config-"));
  try {
    const file = join(dir, "config.json");
    throwsCheckpointError(() => loadConfig(dir), /config\.json is missing/, file);
    writeFileSync(file, '{ "hidden_size": 64,');
    throwsCheckpointError(() => loadConfig(dir), /not valid JSON/, file);
    writeFileSync(file, JSON.stringify({ ...BASE, model_type: "llama" }));
    throwsCheckpointError(() => loadConfig(dir), /not a CodeMonet checkpoint/, file);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
