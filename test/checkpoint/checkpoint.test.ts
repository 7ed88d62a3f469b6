import assert from "node:assert/strict";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { open } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { Checkpoint, expectedTensors } from "../../src/checkpoint/checkpoint";
import { parseConfig, routingGroupCount } from "../../src/checkpoint/config";
import { CheckpointError } from "../../src/checkpoint/errors";
import { SafetensorsFile } from "../../src/checkpoint/safetensors";
import { writeSafetensors, type TensorToWrite } from "../../src/checkpoint/safetensors-writer";
import {
  CODEMONET_VD_1_4B,
  writeSyntheticCheckpoint,
  type HfMonetConfigJson,
} from "../../src/checkpoint/synth";

const DEMO = join(process.cwd(), "models", "tiny-codemonet");
const RANDOM_VD = join(process.cwd(), "..", "shared", "fixtures", "random-vd");
const RANDOM_HD = join(process.cwd(), "..", "shared", "fixtures", "random-hd");

const tmp = mkdtempSync(join(tmpdir(), "monet-checkpoint-"));
after(() => rmSync(tmp, { recursive: true, force: true }));
let dirCount = 0;
const freshDir = (label: string): string => {
  const d = join(tmp, `${++dirCount}-${label}`);
  mkdirSync(d, { recursive: true });
  return d;
};

/** Independent of the reader: parse the header by hand and decode bf16 with a DataView. */
function bf16ValuesFromFile(file: string, name: string, indices: number[]): number[] {
  const raw = readFileSync(file);
  const headerLen = Number(raw.readBigUInt64LE(0));
  const header = JSON.parse(raw.subarray(8, 8 + headerLen).toString()) as Record<
    string,
    { dtype: string; data_offsets: [number, number] }
  >;
  const entry = header[name]!;
  assert.equal(entry.dtype, "BF16");
  const start = 8 + headerLen + entry.data_offsets[0];
  const view = new DataView(new ArrayBuffer(4));
  return indices.map((i) => {
    view.setUint32(0, raw.readUInt16LE(start + 2 * i) << 16);
    return view.getFloat32(0);
  });
}

async function rejectsCheckpoint(dir: string, pattern: RegExp, file?: string): Promise<CheckpointError> {
  let caught: CheckpointError | undefined;
  await assert.rejects(Checkpoint.open(dir), (e: unknown) => {
    assert.ok(e instanceof CheckpointError, `expected a CheckpointError, got ${String(e)}`);
    if (file !== undefined) assert.equal(e.file, file);
    assert.ok(e.message.startsWith(e.file), e.message);
    assert.match(e.message, pattern);
    caught = e;
    return true;
  });
  return caught!;
}

/** Copies a single-file checkpoint, passing its tensors through `edit` on the way. */
async function rewrite(
  src: string,
  label: string,
  edit: (ts: TensorToWrite[]) => TensorToWrite[],
  config?: (c: Record<string, unknown>) => void,
): Promise<string> {
  const dst = freshDir(label);
  const cfg = JSON.parse(readFileSync(join(src, "config.json"), "utf8")) as Record<string, unknown>;
  config?.(cfg);
  writeFileSync(join(dst, "config.json"), JSON.stringify(cfg));
  const st = await SafetensorsFile.open(join(src, "model.safetensors"));
  const tensors: TensorToWrite[] = [];
  for (const e of st.tensors.values())
    tensors.push({ name: e.name, dtype: e.dtype, shape: e.shape, data: await st.readTensorBytes(e.name) });
  await st.close();
  await writeSafetensors(join(dst, "model.safetensors"), edit(tensors));
  return dst;
}

const SMALL: HfMonetConfigJson = {
  vocab_size: 256,
  hidden_size: 32,
  num_hidden_layers: 5,
  num_attention_heads: 4,
  num_key_value_heads: 2,
  moe_dim: 4,
  moe_heads: 2,
  moe_experts: 8,
  moe_topk: 2,
  max_position_embeddings: 64,
};

async function smallSharded(label: string): Promise<string> {
  const d = freshDir(label);
  await writeSyntheticCheckpoint(d, SMALL, { seed: 1, shardBytes: 12_000 });
  return d;
}

// ---- the demo model and the fixtures --------------------------------------------------------

test("opens the demo model (6 bf16 shards) reading only the headers", async (t) => {
  // Count every byte read through a FileHandle while opening and validating.
  const probe = await open(join(DEMO, "config.json"));
  const proto = Object.getPrototypeOf(probe) as { read: (...args: unknown[]) => Promise<unknown> };
  await probe.close();
  const original = proto.read;
  let bytesRead = 0;
  proto.read = async function (this: unknown, ...args: unknown[]) {
    const r = (await original.apply(this, args)) as { bytesRead: number };
    bytesRead += r.bytesRead;
    return r;
  };
  const t0 = performance.now();
  let ck: Checkpoint;
  try {
    ck = await Checkpoint.open(DEMO);
  } finally {
    proto.read = original;
  }
  const ms = performance.now() - t0;
  t.diagnostic(
    `open + validate of the demo model: ${ms.toFixed(1)} ms, ${bytesRead} bytes read through file handles`,
  );
  try {
    const shards = [...new Set(ck.names().map((n) => ck.info(n).file))];
    assert.equal(shards.length, 6);
    let headers = 0;
    for (const f of shards) headers += 8 + Number(readFileSync(f).readBigUInt64LE(0));
    const small = [
      "config.json",
      "model.safetensors.index.json",
      "tokenizer_config.json",
      "generation_config.json",
    ].map((f) => statSync(join(DEMO, f)).size);
    assert.equal(
      bytesRead,
      headers + small[0]! + small[1]! + small[2]! + small[3]!,
      "opening must read config.json, the index, tokenizer_config.json, generation_config.json, the 8-byte lengths and headers, " +
        "no tensor data",
    );
    assert.ok(ms < 2000, `opening took ${ms} ms`);

    assert.equal(ck.parameterCount(), 40_933_760);
    assert.equal(routingGroupCount(ck.config), 2);
    assert.equal(ck.storedDtype(), "BF16");
    assert.equal(ck.names().length, expectedTensors(ck.config).size + 4); // + 4 num_batches_tracked
    assert.deepEqual(ck.info("model.layers.4.router.w1.weight"), {
      name: "model.layers.4.router.w1.weight",
      dtype: "BF16",
      shape: [2048, 384],
      file: join(DEMO, "model-00004-of-00006.safetensors"),
    });
    assert.equal(ck.has("model.layers.1.router.w1.weight"), false);
    assert.equal(ck.info("model.layers.0.router.norm1.num_batches_tracked").dtype, "I64");
  } finally {
    await ck.close();
  }
});

test("readFloat32/readFloat16 of bf16 tensors match values decoded by hand from the shard bytes", async () => {
  const ck = await Checkpoint.open(DEMO);
  try {
    const checks: Array<[string, string]> = [
      ["model.layers.5.moe.v12.weight", "model-00005-of-00006.safetensors"],
      ["model.layers.4.router.norm1.running_var", "model-00004-of-00006.safetensors"],
      ["lm_head.weight", "model-00006-of-00006.safetensors"],
    ];
    for (const [name, shard] of checks) {
      const values = await ck.readFloat32(name);
      const n = values.length;
      const indices = [0, 1, Math.floor(n / 3), n - 1];
      const want = bf16ValuesFromFile(join(DEMO, shard), name, indices);
      assert.deepEqual(
        indices.map((i) => values[i]),
        want,
        name,
      );
      assert.ok(
        want.some((v) => v !== 0),
        `${name}: picked all-zero values`,
      );
      const halves = await ck.readFloat16(name);
      assert.equal(halves.length, n);
      for (const [k, i] of indices.entries()) {
        // Decode the half by hand and check it is within half-precision rounding of the value.
        const h = halves[i]!;
        const exp = (h >> 10) & 0x1f;
        const mag = exp === 0 ? (h & 0x3ff) * 2 ** -24 : (1 + (h & 0x3ff) / 1024) * 2 ** (exp - 15);
        const v = h & 0x8000 ? -mag : mag;
        assert.ok(
          Math.abs(v - want[k]!) <= Math.max(Math.abs(want[k]!) * 2 ** -11, 2 ** -25),
          `${name}[${i}]: ${v} vs ${want[k]}`,
        );
      }
    }
    await assert.rejects(
      ck.readFloat32("model.layers.0.router.norm1.num_batches_tracked"),
      /I64, not a float tensor/,
    );
    await assert.rejects(ck.readFloat32("no.such.tensor"), /no tensor "no\.such\.tensor"/);
  } finally {
    await ck.close();
  }
});

test("opens the random VD fixture (untied, GQA) and the random HD fixture (tied)", async () => {
  const vd = await Checkpoint.open(RANDOM_VD);
  // embed + lm_head 2·512·64, 5 layers × (attn 12,288 + norms 128 + VD 9,280), 2 routers × 4,096, final norm 64
  assert.equal(vd.parameterCount(), 2 * 32_768 + 5 * (12_288 + 128 + 9_280) + 2 * 4_096 + 64);
  assert.equal(vd.config.numKvHeads, 2);
  assert.ok(vd.has("lm_head.weight"));
  await vd.close();

  const hd = await Checkpoint.open(RANDOM_HD);
  // embed 512·64, 5 layers × (attn 12,288 + norms 128 + HD u 4,096 + bias 64 + v 4,096 + b 1,024), 2 routers, final norm
  assert.equal(
    hd.parameterCount(),
    32_768 + 5 * (12_288 + 128 + 4_096 + 64 + 4_096 + 1_024) + 2 * 4_096 + 64,
  );
  assert.equal(hd.config.moeDecompose, "horizontal");
  assert.equal(hd.config.tieWordEmbeddings, true);
  assert.equal(hd.has("lm_head.weight"), false);
  assert.deepEqual(hd.info("model.layers.0.moe.u.weight").shape, [64, 64]);
  assert.equal(routingGroupCount(hd.config), 2);
  await hd.close();
});

test("fingerprint: stable, the same for a copy elsewhere, different when a weight byte changes", async () => {
  const a = await Checkpoint.open(RANDOM_VD);
  const fa = await a.fingerprint();
  await a.close();
  assert.match(fa, /^[0-9a-f]{64}$/);
  const copy = freshDir("copy");
  cpSync(RANDOM_VD, copy, { recursive: true });
  const b = await Checkpoint.open(copy);
  assert.equal(await b.fingerprint(), fa);
  await b.close();

  const weights = join(copy, "model.safetensors");
  const bytes = readFileSync(weights);
  bytes[bytes.length - 100]! ^= 1;
  writeFileSync(weights, bytes);
  const c = await Checkpoint.open(copy);
  assert.notEqual(await c.fingerprint(), fa);
  await c.close();

  const demo1 = await Checkpoint.open(DEMO);
  const t0 = performance.now();
  const fd = await demo1.fingerprint();
  const ms = performance.now() - t0;
  await demo1.close();
  const demo2 = await Checkpoint.open(DEMO);
  assert.equal(await demo2.fingerprint(), fd);
  await demo2.close();
  assert.notEqual(fd, fa);
  assert.ok(ms < 2000, `fingerprint took ${ms} ms`);
});

// ---- bad folders ------------------------------------------------------------------------------

test("a missing folder, or a file instead of a folder", async () => {
  const missing = join(tmp, "does-not-exist");
  await rejectsCheckpoint(missing, /model folder does not exist/, missing);
  const file = join(RANDOM_VD, "config.json");
  await rejectsCheckpoint(file, /is a file, not a model folder/, file);
});

test("a missing config.json", async () => {
  const d = freshDir("no-config");
  cpSync(join(RANDOM_VD, "model.safetensors"), join(d, "model.safetensors"));
  await rejectsCheckpoint(d, /config\.json is missing/, join(d, "config.json"));
});

test("missing weights, and PyTorch .bin weights", async () => {
  const d = freshDir("no-weights");
  cpSync(join(RANDOM_VD, "config.json"), join(d, "config.json"));
  await rejectsCheckpoint(
    d,
    /no weights found: expected model\.safetensors or model\.safetensors\.index\.json/,
    d,
  );
  writeFileSync(join(d, "pytorch_model.bin"), "pickle");
  await rejectsCheckpoint(d, /\.bin weights, which are not supported.*convert it to safetensors/, d);
});

test("a shard listed in the index but missing", async () => {
  const d = await smallSharded("missing-shard");
  const index = JSON.parse(readFileSync(join(d, "model.safetensors.index.json"), "utf8")) as {
    weight_map: Record<string, string>;
  };
  const shards = [...new Set(Object.values(index.weight_map))];
  assert.ok(shards.length >= 2);
  rmSync(join(d, shards[1]!));
  const e = await rejectsCheckpoint(
    d,
    /shard listed in .*model\.safetensors\.index\.json is missing/,
    join(d, shards[1]!),
  );
  assert.ok(e.message.includes(shards[1]!));
});

test("a tensor listed in the index but absent from its shard", async () => {
  const d = await smallSharded("absent-tensor");
  const indexPath = join(d, "model.safetensors.index.json");
  const index = JSON.parse(readFileSync(indexPath, "utf8")) as { weight_map: Record<string, string> };
  const shards = [...new Set(Object.values(index.weight_map))];
  index.weight_map["model.embed_tokens.weight"] = shards[1]!; // it lives in the first shard
  writeFileSync(indexPath, JSON.stringify(index));
  await rejectsCheckpoint(
    d,
    /tensor "model\.embed_tokens\.weight" is listed in .* but the shard does not contain it/,
    join(d, shards[1]!),
  );
});

test("index paths that escape the folder are rejected", async () => {
  for (const bad of ["../outside.safetensors", "/etc/passwd.safetensors", "sub/../../outside.safetensors"]) {
    const d = await smallSharded("escape");
    writeFileSync(join(d, "..", "outside.safetensors"), "not read");
    const indexPath = join(d, "model.safetensors.index.json");
    const index = JSON.parse(readFileSync(indexPath, "utf8")) as { weight_map: Record<string, string> };
    index.weight_map["model.norm.weight"] = bad;
    writeFileSync(indexPath, JSON.stringify(index));
    await rejectsCheckpoint(d, /points outside the model folder/, indexPath);
  }
});

test("a tensor whose shape does not match config.json", async () => {
  const d = await rewrite(RANDOM_VD, "wrong-shape", (ts) =>
    ts.map((t) => (t.name === "model.layers.1.moe.u1.weight" ? { ...t, shape: [64, 32] } : t)),
  );
  const e = await rejectsCheckpoint(
    d,
    /tensor "model\.layers\.1\.moe\.u1\.weight" has shape \[64, 32\] but .*config\.json implies \[32, 64\]/,
    join(d, "model.safetensors"),
  );
  assert.match(e.message, /config\.json most likely does not belong to these weights/);
});

test("a config.json from another model size: wrong shapes named, or extra layers", async () => {
  const wider = await rewrite(
    RANDOM_VD,
    "wrong-config",
    (ts) => ts,
    (c) => {
      c["moe_experts"] = 32;
    },
  );
  await rejectsCheckpoint(wider, /has shape .* but .*config\.json implies .*\(and \d+ more tensors differ\)/);
  const fewer = await rewrite(
    RANDOM_VD,
    "fewer-layers",
    (ts) => ts,
    (c) => {
      c["num_hidden_layers"] = 4;
    },
  );
  await rejectsCheckpoint(fewer, /unexpected \d+ tensors "model\.layers\.4\..*num_hidden_layers/);
  // validate: false opens it anyway.
  const ck = await Checkpoint.open(fewer, { validate: false });
  assert.equal(ck.config.numLayers, 4);
  await ck.close();
});

test("an extra tensor", async () => {
  const d = await rewrite(RANDOM_VD, "extra", (ts) => [
    ...ts,
    {
      name: "model.layers.1.router.w1.weight",
      dtype: "BF16",
      shape: [32, 64],
      data: new Uint8Array(32 * 64 * 2),
    },
  ]);
  await rejectsCheckpoint(
    d,
    /unexpected tensor "model\.layers\.1\.router\.w1\.weight"/,
    join(d, "model.safetensors"),
  );
});

test("a missing tensor, and a missing lm_head with a hint about tied embeddings", async () => {
  const d = await rewrite(RANDOM_VD, "missing", (ts) =>
    ts.filter((t) => t.name !== "model.layers.2.self_attn.k_proj.weight"),
  );
  await rejectsCheckpoint(
    d,
    /missing tensor "model\.layers\.2\.self_attn\.k_proj\.weight" that .*config\.json requires/,
    join(d, "model.safetensors"),
  );
  const noHead = await rewrite(RANDOM_VD, "no-head", (ts) => ts.filter((t) => t.name !== "lm_head.weight"));
  await rejectsCheckpoint(noHead, /missing tensor "lm_head\.weight".*"tie_word_embeddings": true/);
});

test("a config.json that is not a CodeMonet one is rejected before the weights are touched", async () => {
  const d = freshDir("llama");
  writeFileSync(
    join(d, "config.json"),
    JSON.stringify({ model_type: "llama", architectures: ["LlamaForCausalLM"] }),
  );
  await rejectsCheckpoint(d, /not a CodeMonet checkpoint/, join(d, "config.json"));
});

// ---- synthetic checkpoints ----------------------------------------------------------------------

test("a synthetic sharded checkpoint opens, validates and is initialised like a fresh model", async () => {
  const d = freshDir("synth");
  let last: [number, number] = [0, 0];
  await writeSyntheticCheckpoint(d, SMALL, {
    seed: 7,
    shardBytes: 12_000,
    onProgress: (done, total) => (last = [done, total]),
  });
  const ck = await Checkpoint.open(d);
  try {
    const shards = new Set(ck.names().map((n) => ck.info(n).file));
    assert.ok(shards.size >= 2, `expected several shards, got ${shards.size}`);
    const expected = expectedTensors(ck.config);
    let params = 0;
    let bytes = 0;
    for (const [name, shape] of expected) {
      const count = shape.reduce((a, b) => a * b, 1);
      bytes += 2 * count;
      if (!/running_(mean|var)$/.test(name)) params += count;
    }
    assert.equal(ck.parameterCount(), params);
    assert.equal(ck.storedDtype(), "BF16");
    assert.deepEqual(last, [
      bytes + 8 * 2 * routingGroupCount(ck.config),
      bytes + 8 * 2 * routingGroupCount(ck.config),
    ]);
    const cfg = JSON.parse(readFileSync(join(d, "config.json"), "utf8")) as Record<string, unknown>;
    assert.deepEqual(cfg["architectures"], ["MonetForCausalLM"]);
    assert.equal(cfg["model_type"], "monet");
    assert.equal(cfg["moe_experts"], 8);
    assert.equal(cfg["moe_groups"], 4);

    const all = (xs: Float32Array, v: number): boolean => xs.every((x) => x === v);
    assert.ok(all(await ck.readFloat32("model.layers.3.input_layernorm.weight"), 1));
    assert.ok(all(await ck.readFloat32("model.norm.weight"), 1));
    assert.ok(all(await ck.readFloat32("model.layers.2.moe.u1.bias"), 0));
    assert.ok(all(await ck.readFloat32("model.layers.2.moe.b2"), 0));
    assert.ok(all(await ck.readFloat32("model.layers.4.router.norm2.running_mean"), 0));
    assert.ok(all(await ck.readFloat32("model.layers.4.router.norm2.running_var"), 1));
    const stats = (xs: Float32Array): { mean: number; std: number } => {
      const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
      return { mean, std: Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / xs.length) };
    };
    const embed = stats(await ck.readFloat32("model.embed_tokens.weight")); // 8,192 values
    assert.ok(Math.abs(embed.mean) < 0.002 && Math.abs(embed.std - 0.02) < 0.001, JSON.stringify(embed));
    const router = stats(await ck.readFloat32("model.layers.0.router.w1.weight"));
    assert.ok(Math.abs(router.std - 1 / Math.sqrt(32)) < 0.02, JSON.stringify(router));
  } finally {
    await ck.close();
  }

  // Same seed, one file: same values (each tensor has its own stream). Another seed differs.
  const single = freshDir("synth-single");
  await writeSyntheticCheckpoint(single, SMALL, { seed: 7 });
  const other = freshDir("synth-other");
  await writeSyntheticCheckpoint(other, SMALL, { seed: 8 });
  const [a, b, c] = await Promise.all([Checkpoint.open(d), Checkpoint.open(single), Checkpoint.open(other)]);
  assert.ok(
    b.has("model.layers.0.self_attn.q_proj.weight") &&
      b.info("model.norm.weight").file.endsWith("model.safetensors"),
  );
  for (const name of ["model.layers.3.moe.v21.weight", "lm_head.weight"]) {
    assert.deepEqual(await a.readFloat32(name), await b.readFloat32(name));
    assert.notDeepEqual(await a.readFloat32(name), await c.readFloat32(name));
  }
  await Promise.all([a.close(), b.close(), c.close()]);
});

test("synthetic HD, tied, F32 checkpoint", async () => {
  const d = freshDir("synth-hd");
  await writeSyntheticCheckpoint(
    d,
    { ...SMALL, moe_decompose: "horizontal", moe_dim: 3, tie_word_embeddings: true },
    { seed: 3, dtype: "F32" },
  );
  const ck = await Checkpoint.open(d);
  assert.equal(ck.storedDtype(), "F32");
  assert.equal(ck.has("lm_head.weight"), false);
  assert.deepEqual(ck.info("model.layers.0.moe.u.weight").shape, [24, 32]);
  await ck.close();
  await assert.rejects(
    writeSyntheticCheckpoint(freshDir("synth-bad"), { ...SMALL, moe_dim: 3 }, { seed: 1 }),
    /"moe_dim" 3 is odd/,
  );
});

test("synthetic router weights give non-degenerate routing (about moe_topk experts per head)", async () => {
  const d = freshDir("synth-router");
  const cfg: HfMonetConfigJson = {
    ...SMALL,
    hidden_size: 64,
    num_hidden_layers: 1,
    moe_experts: 512,
    moe_topk: 32,
  };
  await writeSyntheticCheckpoint(d, cfg, { seed: 11 });
  const ck = await Checkpoint.open(d);
  const w = await ck.readFloat32("model.layers.0.router.w1.weight"); // [H·E, d]
  await ck.close();
  const [H, E, dim] = [2, 512, 64];
  const sigma = 1.5341205443525463; // Φ⁻¹(1 − 32/512)
  let seed = 99;
  const gauss = (): number => {
    seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
    const u = (seed + 0.5) / 2 ** 32;
    seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
    return Math.sqrt(-2 * Math.log(u)) * Math.cos((2 * Math.PI * seed) / 2 ** 32);
  };
  let selected = 0;
  let maxWeight = 0;
  const tokens = 40;
  for (let t = 0; t < tokens; t++) {
    const x = Array.from({ length: dim }, gauss);
    const rms = Math.sqrt(x.reduce((a, v) => a + v * v, 0) / dim);
    for (let h = 0; h < H; h++) {
      const z = Array.from(
        { length: E },
        (_, e) => x.reduce((a, v, k) => a + v * w[(h * E + e) * dim + k]!, 0) / rms,
      );
      const n = z.map((v) => v / Math.sqrt(1 + 1e-5)); // running_mean 0, running_var 1
      const s = Math.min(Math.max(...n), sigma);
      const kept = z.filter((_, e) => n[e]! >= s);
      const denom = kept.reduce((a, v) => a + Math.exp(v), 0);
      selected += kept.length;
      maxWeight = Math.max(maxWeight, Math.max(...kept.map((v) => Math.exp(v) / denom)));
    }
  }
  const mean = selected / (tokens * H);
  assert.ok(mean > 16 && mean < 64, `mean experts selected per head: ${mean}`);
  assert.ok(maxWeight < 0.5, `largest routing weight ${maxWeight}: routing is nearly one-hot`);
});

test("CodeMonet-VD 1.4B shape: 1,465,157,632 parameters", () => {
  // The full write is opt-in (2.9 GB, MONET_TEST_1_4B=1); this checks the shape bookkeeping.
  const c = parseConfig(CODEMONET_VD_1_4B, "CODEMONET_VD_1_4B");
  let params = 0;
  for (const [name, shape] of expectedTensors(c))
    if (!/running_(mean|var)$/.test(name)) params += shape.reduce((a, b) => a * b, 1);
  // embed + lm_head 2·32000·2048, 24 × (attn 4·2048² + norms 4096 + u 2·4096·2048 + biases 8192
  // + v 4·1024·4096 + b 2·512·1024), 6 routers × 2·4096·2048, final norm 2048
  assert.equal(
    params,
    2 * 65_536_000 +
      24 * (16_777_216 + 4_096 + 16_777_216 + 8_192 + 16_777_216 + 1_048_576) +
      6 * 16_777_216 +
      2_048,
  );
  assert.equal(params, 1_465_157_632);
  assert.deepEqual(expectedTensors(c).get("model.layers.20.router.w2.weight"), [4096, 2048]);
  assert.deepEqual(expectedTensors(c).get("model.layers.3.moe.v21.weight"), [1024, 4096]);
});

test("writes, opens and validates a synthetic CodeMonet-VD 1.4B checkpoint", {
  skip: process.env["MONET_TEST_1_4B"] !== "1" && "set MONET_TEST_1_4B=1 (writes 2.9 GB)",
}, async (t) => {
  const d = freshDir("synth-1.4b");
  const t0 = performance.now();
  await writeSyntheticCheckpoint(d, CODEMONET_VD_1_4B, { seed: 0 });
  const write = performance.now() - t0;
  const t1 = performance.now();
  const ck = await Checkpoint.open(d);
  const openMs = performance.now() - t1;
  const t2 = performance.now();
  const fp = await ck.fingerprint();
  const fpMs = performance.now() - t2;
  t.diagnostic(
    `1.4B: write ${(write / 1000).toFixed(1)} s, open+validate ${openMs.toFixed(1)} ms, fingerprint ${fpMs.toFixed(1)} ms, ${ck.parameterCount()} parameters, peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB`,
  );
  assert.match(fp, /^[0-9a-f]{64}$/);
  assert.ok(ck.parameterCount() > 1.4e9 && ck.parameterCount() < 1.5e9);
  assert.equal(routingGroupCount(ck.config), 6);
  await ck.close();
  rmSync(d, { recursive: true, force: true });
});
