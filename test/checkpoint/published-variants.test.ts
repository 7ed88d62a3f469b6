// What published checkpoints may carry that our own files do not: tokenizer_config.json's
// add_bos_token / add_eos_token, `eos_token_id` as a list, and RoPE's stored inv_freq buffers.
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { Checkpoint } from "../../src/checkpoint/checkpoint";
import { parseConfig } from "../../src/checkpoint/config";
import { SafetensorsFile } from "../../src/checkpoint/safetensors";
import { writeSafetensors, type TensorToWrite } from "../../src/checkpoint/safetensors-writer";
import { DEMO_MODEL, FIXTURES } from "../helpers/fixtures";

const RANDOM_VD = join(FIXTURES, "random-vd");
const tmp = mkdtempSync(join(tmpdir(), "monet-variants-"));
after(() => rmSync(tmp, { recursive: true, force: true }));
let n = 0;

/** random-vd with extra tensors and config edits, written as a transformers checkpoint would be. */
async function variant(
  extra: (hd: number, theta: number) => TensorToWrite[],
  config: (c: Record<string, unknown>) => void = () => {},
  files: Record<string, string> = {},
): Promise<string> {
  const dst = join(tmp, String(++n));
  mkdirSync(dst);
  const cfg = JSON.parse(readFileSync(join(RANDOM_VD, "config.json"), "utf8")) as Record<string, unknown>;
  config(cfg);
  writeFileSync(join(dst, "config.json"), JSON.stringify(cfg));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dst, name), text);
  const st = await SafetensorsFile.open(join(RANDOM_VD, "model.safetensors"));
  const tensors: TensorToWrite[] = [];
  for (const e of st.tensors.values())
    tensors.push({ name: e.name, dtype: e.dtype, shape: e.shape, data: await st.readTensorBytes(e.name) });
  await st.close();
  const hd = (cfg.hidden_size as number) / (cfg.num_attention_heads as number);
  await writeSafetensors(join(dst, "model.safetensors"), [
    ...tensors,
    ...extra(hd, cfg.rope_theta as number),
  ]);
  return dst;
}

/** inv_freq as transformers stores it: θ^(-2i/hd), float32. */
function invFreq(name: string, hd: number, theta: number, scale = 1): TensorToWrite {
  const v = Float32Array.from({ length: hd / 2 }, (_, i) => scale * theta ** (-(2 * i) / hd));
  return { name, dtype: "F32", shape: [hd / 2], data: new Uint8Array(v.buffer) };
}

test("tokenizer_config.json: add_bos_token / add_eos_token are read, LlamaTokenizer defaults without it", async () => {
  const demo = await Checkpoint.open(DEMO_MODEL);
  assert.deepEqual(
    { bos: demo.tokenizerConfig.addBosToken, eos: demo.tokenizerConfig.addEosToken },
    { bos: true, eos: false },
  );
  await demo.close();
  const none = await Checkpoint.open(RANDOM_VD);
  assert.equal(none.tokenizerConfig.file, undefined);
  assert.equal(none.tokenizerConfig.addBosToken, true);
  assert.equal(none.tokenizerConfig.addEosToken, false);
  await none.close();
  const flipped = await variant(() => [], undefined, {
    "tokenizer_config.json": JSON.stringify({
      add_bos_token: false,
      add_eos_token: true,
      tokenizer_class: "LlamaTokenizer",
    }),
  });
  const c = await Checkpoint.open(flipped);
  assert.equal(c.tokenizerConfig.addBosToken, false);
  assert.equal(c.tokenizerConfig.addEosToken, true);
  await c.close();
  const bad = await variant(() => [], undefined, { "tokenizer_config.json": '{"add_bos_token": "yes"}' });
  await assert.rejects(Checkpoint.open(bad), /tokenizer_config\.json: "add_bos_token" must be true or false/);
});

test("eos_token_id may be a list: every id is kept, the first is eosTokenId", async () => {
  const c = parseConfig({ eos_token_id: [2, 32000 - 1], vocab_size: 32000 }, "config.json");
  assert.equal(c.eosTokenId, 2);
  assert.deepEqual(c.eosTokenIds, [2, 31999]);
  assert.deepEqual(parseConfig({}, "config.json").eosTokenIds, [2]);
  assert.throws(() => parseConfig({ eos_token_id: [] }, "config.json"), /non-empty list/);
  assert.throws(
    () => parseConfig({ eos_token_id: [2, 32000] }, "config.json"),
    /"eos_token_id" must be an integer from 0 to 31999 .*found 32000/,
  );
  const dir = await variant(
    () => [],
    (cfg) => (cfg.eos_token_id = [2]),
  );
  const ck = await Checkpoint.open(dir);
  assert.deepEqual(ck.config.eosTokenIds, [2]);
  await ck.close();
});

test("stored rotary_emb.inv_freq buffers (per layer or at model level) are accepted and not parameters", async () => {
  const base = await Checkpoint.open(RANDOM_VD);
  const params = base.parameterCount();
  await base.close();
  const perLayer = await variant((hd, theta) =>
    [0, 1, 2, 3, 4].map((l) => invFreq(`model.layers.${l}.self_attn.rotary_emb.inv_freq`, hd, theta)),
  );
  const c = await Checkpoint.open(perLayer);
  assert.ok(c.has("model.layers.3.self_attn.rotary_emb.inv_freq"));
  assert.equal(c.parameterCount(), params);
  await c.close();
  const modelLevel = await variant((hd, theta) => [invFreq("model.rotary_emb.inv_freq", hd, theta)]);
  await (await Checkpoint.open(modelLevel)).close();
});

test("a stored inv_freq of another rope_theta or shape is refused, naming the fix", async () => {
  const other = await variant((hd) => [invFreq("model.layers.0.self_attn.rotary_emb.inv_freq", hd, 500000)]);
  await assert.rejects(Checkpoint.open(other), /RoPE frequencies for another rope_theta.*set "rope_theta"/);
  const shape = await variant((hd, theta) => [
    invFreq("model.layers.0.self_attn.rotary_emb.inv_freq", hd * 2, theta),
  ]);
  await assert.rejects(Checkpoint.open(shape), /inverse frequencies for head size 16 are \[8\] floats/);
});
