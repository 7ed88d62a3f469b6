// `monet-lens synth`: the published config values, a tokenizer that fits vocab_size (so `info`
// passes), and usage on --help. The full 1.4B write (2.9 GB) is left to the benchmark commands.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { expectedTensors } from "../../src/checkpoint/checkpoint";
import { parseConfig } from "../../src/checkpoint/config";
import { PUBLISHED_CONFIGS } from "../../src/checkpoint/published-configs";
import { CODEMONET_VD_1_4B } from "../../src/checkpoint/synth";

const CLI = join(process.cwd(), "dist", "cli.js");
const tmp = mkdtempSync(join(tmpdir(), "monet-synth-cli-"));
after(() => rmSync(tmp, { recursive: true, force: true }));
const run = (...args: string[]) => spawnSync(process.execPath, [CLI, ...args], { encoding: "utf8" });

const params = (c: ReturnType<typeof parseConfig>) => {
  let n = 0;
  for (const [name, shape] of expectedTensors(c))
    if (!/running_(mean|var)$/.test(name)) n += shape.reduce((a, b) => a * b, 1);
  return n;
};

describe("monet-lens synth", () => {
  it("the 1.4B family's published values: moe_topk 8, the 2.93 GB the Hub lists", () => {
    const vd = PUBLISHED_CONFIGS["1.4b"].vd!;
    const hd = PUBLISHED_CONFIGS["1.4b"].hd!;
    assert.equal(CODEMONET_VD_1_4B, vd);
    assert.equal(vd.moe_topk, 8);
    assert.equal(vd.moe_dim, 16);
    assert.equal(hd.moe_decompose, "horizontal");
    const pv = params(parseConfig(vd, "vd"));
    assert.equal(pv, 1_465_157_632);
    assert.equal(params(parseConfig(hd, "hd")), pv, "HD 1.4B: the same size as VD, as the Hub lists");
    assert.equal(((2 * pv) / 1e9).toFixed(2), "2.93");
  });

  it("--help prints the usage; an unknown published config asks for --config", () => {
    const help = run("synth", "--help");
    assert.equal(help.status, 0, help.stderr);
    assert.match(help.stdout, /^usage: monet-lens synth \[--shape 850m\|1\.4b\|4\.1b\]/);
    assert.match(help.stdout, /--decompose vd\|hd/);
    const pullHelp = run("pull", "--help");
    assert.equal(pullHelp.status, 0);
    assert.match(pullHelp.stdout, /^usage: monet-lens pull \[REPO\]/);
    assert.match(pullHelp.stdout, /MonetLLM\/codemonet-vd-1\.4B-100BT-hf[^;]*recommended\s+for\s+code/);
    const r = run("synth", "--shape", "850m", "--out", join(tmp, "x"));
    assert.equal(r.status, 1);
    assert.match(r.stderr, /850M Monet-VD model is not known to Monet Lens.*--config/);
  });

  it("writes a tokenizer of vocab_size pieces, so `info` validates the folder", () => {
    const cfg = join(tmp, "config.json");
    writeFileSync(
      cfg,
      JSON.stringify({
        ...CODEMONET_VD_1_4B,
        hidden_size: 64,
        num_hidden_layers: 2,
        num_attention_heads: 4,
        num_key_value_heads: 4,
        moe_dim: 4,
        moe_heads: 2,
        moe_experts: 16,
        moe_topk: 2,
      }),
    );
    const out = join(tmp, "small");
    const w = run("synth", "--config", cfg, "--out", out);
    assert.equal(w.status, 0, w.stderr);
    assert.match(w.stdout, /tokenizer with 32000 pieces/);
    const info = run("info", "--model", out, "--json");
    assert.equal(info.status, 0, info.stderr);
    const j = JSON.parse(info.stdout);
    assert.equal(j.tokenizerPieces, 32000);
    assert.equal(j.vocabSize, 32000);
    assert.equal(j.moeTopk, 2);
    assert.equal(JSON.parse(readFileSync(join(out, "tokenizer_config.json"), "utf8")).add_bos_token, true);
  });
});
