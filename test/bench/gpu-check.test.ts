// The GPU check (scripts/gpu-check.sh → dist/gpu-check.js), run here in its dry-run mode on the
// CPU provider so that CI knows the script works before a GPU is at hand: its JSON report, its
// exactness verdicts, and that a GPU provider which falls back to the CPU is never reported as
// having run (simulated providers). Plus the pieces it is made of.
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readAtlasFile } from "../../src/atlas/atlas-file";
import { compareLogits } from "../../src/bench/gpu-check/compare";
import { denseDecodeModel, DenseDecodeUnavailable } from "../../src/bench/gpu-check/dense-decode";
import { convertAhead } from "../../src/bench/gpu-check/adapter";
import { ATLAS_LANGUAGE_SIZES, twoLanguageMaskSets } from "../../src/bench/gpu-check/language-masks";
import { parsePlacements } from "../../src/bench/gpu-check/placement";
import type { GpuCheckReport } from "../../src/bench/gpu-check/report";
import { PUBLISHED_MOE_TOPK, publishedTopk } from "../../src/bench/gpu-check/speed-model";
import { GraphBuilder } from "../../src/onnx/graph-builder";
import { serializeModel } from "../../src/onnx/model-writer";
import { DEMO_MODEL, TEST_CACHE } from "../helpers/fixtures";

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  report: GpuCheckReport;
}

function check(out: string, ...args: string[]): Run {
  const r = spawnSync("bash", ["scripts/gpu-check.sh", "--cache", TEST_CACHE, "--out", out, ...args], {
    encoding: "utf8",
    timeout: 900_000,
  });
  const files = readdirSync(out).filter((f) => f.endsWith(".json"));
  assert.equal(files.length, 1, `one report per run in ${out}: ${files.join(", ")}\n${r.stderr}`);
  const report = JSON.parse(readFileSync(join(out, files[0]!), "utf8")) as GpuCheckReport;
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, report };
}

describe("GPU check, dry run on the CPU", () => {
  let dir: string;
  let run: Run;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "monet-gpu-check-"));
    // A generous budget: this test checks that every phase runs, on a CPU that other work may share.
    run = check(dir, "--dry-run", "--budget-s", "600");
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("exits 0, names the file dry-run-*, and prints the summary", () => {
    assert.equal(run.code, 0, run.stderr);
    assert.match(readdirSync(dir)[0]!, /^dry-run-.*-cpu-[0-9a-f]{7}\.json$/);
    assert.match(run.stdout, /GPU check, dry-run/);
    assert.match(run.stdout, /exactness: pass; providers run: cpu; exit code 0/);
    assert.match(run.stdout, /decode at 96 \(tokens\/s\)/);
  });

  it("records the machine, the commit, the plan and the tolerances", () => {
    const r = run.report;
    assert.equal(r.schema, "monet-lens-gpu-check/1");
    assert.equal(r.mode, "dry-run");
    assert.match(r.commit.id, /^[0-9a-f]{40}$/);
    const m = r.machine as { cpu: { model: string; cores: number }; node: string; gpus: unknown[] };
    assert.ok(m.cpu.cores > 0 && m.cpu.model);
    assert.match(m.node, /^v\d+/);
    assert.ok(Array.isArray(m.gpus));
    assert.deepEqual((r.plan as { exactness_dtypes: string[] }).exactness_dtypes, [
      "float16",
      "float32",
      "int8",
      "int4",
    ]);
    assert.ok((r.tolerances as { float16: unknown }).float16);
    assert.ok((r.tolerances as { quantized: unknown }).quantized);
    assert.equal(r.summary.exit_code, 0);
    assert.deepEqual(r.summary.providers_ran, ["cpu"]);
  });

  it("ran every exactness check on every model and dtype, and all passed", () => {
    const ex = run.report.providers.cpu!.exactness!;
    assert.equal(ex.status, "ran");
    assert.equal(ex.onnxruntime?.node, "1.30.0");
    // Quantized graphs have no union path, so no dense-decode variant: the one kind of skip.
    const failed = ex.checks.filter(
      (c) =>
        c.status !== "pass" &&
        !(c.status === "skip" && /^int[48]$/.test(c.dtype) && c.check === "dense-decode cached decoding"),
    );
    assert.deepEqual(failed, [], "no failed or skipped check");
    const has = (model: string, dtype: string, check: string) =>
      assert.ok(
        ex.checks.some((c) => c.model === model && c.dtype === dtype && c.check === check),
        `${model}/${dtype}/${check}`,
      );
    for (const model of ["random-vd", "random-hd"]) {
      for (const setting of ["plain", "masked", "steered", "boosted"])
        has(model, "float32", `reference ${setting} logits`);
      for (const dtype of ["float16", "float32"]) {
        for (const setting of ["plain", "masked", "steered", "boosted"])
          has(model, dtype, `${setting} logits`);
        for (const decode of ["cached decoding", "dense-decode cached decoding"]) {
          has(model, dtype, `${decode} = full pass`);
          has(model, dtype, `${decode} (masked) = full pass`);
          has(model, dtype, `${decode} vs cpu`);
        }
      }
    }
    has("demo", "float32", "reference plain logits");
    for (const dtype of ["float16", "float32", "int8", "int4"]) {
      has("demo", dtype, "plain logits");
      has("demo", dtype, "masked logits");
      has("demo", dtype, "cached decoding (masked) = full pass");
      has("demo", dtype, "cached decoding (masked) vs cpu");
    }
    for (const dtype of ["int8", "int4"]) {
      for (const model of ["random-vd", "random-hd"]) {
        for (const setting of ["plain", "masked", "steered", "boosted"]) {
          has(model, dtype, `${setting} logits`);
          has(model, `${dtype} (float32 activations)`, `quantization error, ${setting} logits`);
        }
        has(model, dtype, "cached decoding (masked) = full pass");
      }
      // The quantized graphs' checks compare with the CPU's quantized graph, float32 activations.
      const q = ex.checks.find((c) => c.model === "demo" && c.dtype === dtype && c.check === "plain logits");
      assert.equal(q?.reference, `cpu ${dtype} graph, float32 activations`);
      assert.deepEqual(q?.tolerance, { max_abs: 0.6, decisive_margin: 0.1 });
      // MatMulNBits rounds the activations to int8 on this CPU (accuracy_level 4): not zero, within the bound.
      assert.ok(q!.result!.max_abs > 0 && q!.result!.max_abs < 0.6, JSON.stringify(q?.result));
      const pl = ex.quantized_placement?.[dtype]?.providers.CPUExecutionProvider;
      assert.ok(pl && pl.nodes > 100, JSON.stringify(ex.quantized_placement));
    }
    // The weights' rounding against PyTorch's float32 logits: reported, not a gate.
    const rounding = ex.checks.filter((c) => c.check.startsWith("quantization error"));
    assert.ok(rounding.length >= 2 * 2 * 4 + 2, `${rounding.length} quantization-error records`);
    for (const c of rounding) assert.ok(!c.gate && c.result!.max_abs > 0, JSON.stringify(c));
    for (const c of ex.checks.filter((x) => x.status !== "skip" && x.gate)) {
      assert.ok(c.result && c.tolerance, `${c.check} has a result and a tolerance`);
      assert.ok(c.result.max_abs < c.tolerance.max_abs);
      assert.ok(c.result.positions > 0);
    }
    assert.ok(ex.placement!.providers.CPUExecutionProvider!.nodes > 100, JSON.stringify(ex.placement));
    // The float32 graph on the CPU is the reference itself: identical.
    const same = ex.checks.find(
      (c) => c.model === "demo" && c.dtype === "float32" && c.check === "plain logits",
    );
    assert.equal(same?.result?.max_abs, 0);
  });

  it("measured prefill and decoding, masked and with the dense-decode variant", () => {
    const sp = run.report.providers.cpu!.speed!;
    assert.equal(sp.status, "ran", sp.reason);
    const s = sp.speed!;
    assert.equal(s.dtype, "float32");
    const value = (f: unknown) => (f as { value?: number }).value;
    for (const table of [s.prefill_ms, s.masked_prefill_ms]) {
      assert.deepEqual(Object.keys(table), ["64", "128"]);
      for (const f of Object.values(table)) assert.ok(value(f)! > 0, JSON.stringify(f));
    }
    for (const table of [s.decode_tokens_per_s, s.masked_decode_tokens_per_s, s.dense_decode_tokens_per_s]) {
      assert.deepEqual(Object.keys(table), ["32", "96"]);
      for (const f of Object.values(table)) assert.ok(value(f)! > 0, JSON.stringify(f));
    }
    // Both decode paths are exact: greedy tokens agree (the demo model has no near-ties here).
    for (const g of Object.values(s.union_vs_dense_greedy ?? {})) assert.equal(g.agree_prefix, g.of);
    assert.ok(s.gpu_memory_mib.after_open, "GPU memory sampled (null without nvidia-smi)");
  });
});

describe("GPU check: the speed phase on a quantized graph (--speed-dtype)", () => {
  it("int4: prefill and decoding measured, the dense variant skipped with the reason; a bad dtype is a usage error", () => {
    const dir = mkdtempSync(join(tmpdir(), "monet-gpu-check-"));
    try {
      const r = check(dir, "--dry-run", "--no-exactness", "--speed-dtype", "int4");
      assert.equal(r.code, 0, r.stderr);
      assert.equal((r.report.plan as { speed_dtype: string }).speed_dtype, "int4");
      const s = r.report.providers.cpu!.speed!.speed!;
      assert.equal(s.dtype, "int4");
      for (const f of [...Object.values(s.prefill_ms), ...Object.values(s.decode_tokens_per_s)])
        assert.ok((f as { value?: number }).value! > 0, JSON.stringify(f));
      for (const f of Object.values(s.dense_decode_tokens_per_s))
        assert.match((f as { skipped: string }).skipped, /quantized graphs have no union path/);
      assert.match(r.stdout, /speed: .*, int4,/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    const bad = spawnSync("bash", ["scripts/gpu-check.sh", "--dry-run", "--speed-dtype", "int3"], {
      encoding: "utf8",
    });
    assert.equal(bad.status, 64);
    assert.match(bad.stderr, /--speed-dtype: int3 is not one of float16, float32, int8, int4/);
  });
});

describe("GPU check: a GPU provider that does not run is never reported as run", () => {
  it("session creation fails: the provider is skipped with the engine's reason, no figures", () => {
    const dir = mkdtempSync(join(tmpdir(), "monet-gpu-check-"));
    try {
      const r = check(dir, "--dry-run", "--providers", "cuda", "--simulate", "cuda:open-fails");
      assert.equal(r.code, 2, "none of the asked-for providers ran");
      const cuda = r.report.providers.cuda!;
      for (const phase of [cuda.exactness!, cuda.speed!]) {
        assert.equal(phase.status, "unavailable");
        assert.match(
          phase.reason!,
          /asked for cuda, the engine opened cpu: cuda: session creation failed: simulated/,
        );
        assert.equal(phase.speed, undefined);
        assert.ok(phase.checks.every((c) => c.provider !== "cuda" || c.status === "skip"));
      }
      assert.deepEqual(r.report.summary.providers_ran, []);
      assert.match(r.stdout, /cuda not run: asked for cuda, the engine opened cpu/);
      assert.doesNotMatch(r.stdout, /^speed:/m, "no speed table");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("runs fail after opening: exactness fails (exit 1) instead of moving to the CPU", () => {
    const dir = mkdtempSync(join(tmpdir(), "monet-gpu-check-"));
    try {
      const r = check(
        dir,
        "--dry-run",
        "--providers",
        "cuda",
        "--simulate",
        "cuda:run-fails:2",
        "--no-speed",
      );
      assert.equal(r.code, 1);
      const ex = r.report.providers.cuda!.exactness!;
      assert.equal(ex.status, "failed");
      assert.match(ex.reason!, /simulated cuda failure at run time/);
      const fail = ex.checks.find((c) => c.status === "fail" && c.gate);
      assert.match(fail!.reason!, /simulated cuda failure at run time/);
      assert.equal(r.report.summary.exactness, "fail");
      assert.ok(
        !ex.checks.some((c) => c.provider === "cuda" && c.status === "pass" && c.check.includes("vs cpu")),
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("the engine falls back to the CPU mid-speed run: the phase fails and its figures are not reported", () => {
    const dir = mkdtempSync(join(tmpdir(), "monet-gpu-check-"));
    try {
      const r = check(
        dir,
        "--dry-run",
        "--providers",
        "cuda",
        "--simulate",
        "cuda:run-fails:3",
        "--no-exactness",
      );
      assert.equal(r.code, 1);
      const sp = r.report.providers.cuda!.speed!;
      assert.equal(sp.status, "failed");
      assert.match(sp.reason!, /cuda left at run time, the engine moved to cpu/);
      assert.equal(sp.speed, undefined, "no figures as cuda's");
      assert.ok(sp.partial_speed, "what ran before the failure is kept apart");
      assert.match(r.report.summary.failed_phases.join("\n"), /cuda\/speed: cuda left at run time/);
      assert.doesNotMatch(r.stdout, /^speed:/m);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("GPU check pieces", () => {
  it("the language-sized mask sets have the shipped atlas's Python and Lua sizes, disjoint, seeded", () => {
    const atlas = readAtlasFile(join(process.cwd(), "models", "atlases", "tiny-codemonet.atlas.json"));
    for (const [lang, sizes] of Object.entries(ATLAS_LANGUAGE_SIZES))
      assert.deepEqual(
        atlas.sets.get(lang)!.map((s) => s.length),
        sizes,
        `${lang} in models/atlases/tiny-codemonet.atlas.json`,
      );
    const { python, lua } = ATLAS_LANGUAGE_SIZES as { python: number[]; lua: number[] };
    const sets = twoLanguageMaskSets(2, 512);
    assert.deepEqual(
      sets.map((s) => s.length),
      [python[0]! + lua[0]!, python[1]! + lua[1]!],
    );
    for (const s of sets) assert.equal(new Set(s).size, s.length);
    assert.deepEqual(twoLanguageMaskSets(2, 512), sets, "same seed, same sets");
    const big = twoLanguageMaskSets(6, 512);
    assert.deepEqual(
      big.map((s) => s.length),
      [0, 1, 2, 3, 4, 5].map((g) => python[g % 2]! + lua[g % 2]!),
    );
    assert.equal(
      twoLanguageMaskSets(1, 16)[0]!.length,
      Math.round(python[0]! / 1024) + Math.round(lua[0]! / 1024),
    );
  });

  it("the 1.4B's config gets the published moe_topk", () => {
    const dir = mkdtempSync(join(tmpdir(), "monet-topk-"));
    try {
      writeFileSync(join(dir, "config.json"), JSON.stringify({ hidden_size: 2048, moe_topk: 32 }));
      assert.equal(publishedTopk(dir), 32);
      const fixed = JSON.parse(readFileSync(join(dir, "config.json"), "utf8"));
      assert.deepEqual(fixed, { hidden_size: 2048, moe_topk: PUBLISHED_MOE_TOPK });
      assert.equal(publishedTopk(dir), 8, "already published: left as it is");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("the dense-decode variant rewires every routing group's expert-path choice, and refuses other graphs", async () => {
    const modelPath = await convertAhead(DEMO_MODEL, "float32", TEST_CACHE);
    const original = readFileSync(modelPath);
    const variant = denseDecodeModel(original);
    const text = Buffer.from(variant).toString("latin1");
    assert.ok(text.includes("gpu_check.dense_decode_threshold"));
    assert.ok(Math.abs(variant.byteLength - original.byteLength) < 4096, "only a few nodes change");
    const g = new GraphBuilder("plain");
    const x = g.input("x", "int64", [1, "T"]);
    g.output(g.op("Greater", [g.op("Shape", [x], { start: 0, end: 1 }), g.constI64([9])]), "y", "bool", [1]);
    assert.throws(() => denseDecodeModel(serializeModel(g)), DenseDecodeUnavailable);
  });

  it("reads onnxruntime's node placements: counts per provider, node types on the CPU", () => {
    const tag =
      "2026-11-29 20:14:38.3 [V:onnxruntime:, session_state.cc:1380 VerifyEachNodeIsAssignedToAnEp]";
    const log = [
      `${tag} Node placements`,
      `${tag}  Node(s) placed on [CUDAExecutionProvider]. Number of nodes: 2300`,
      `${tag}   MatMul (m_1)`,
      `${tag}  Node(s) placed on [CPUExecutionProvider]. Number of nodes: 3`,
      `${tag}   Shape (s_1)`,
      `${tag}   Shape (s_2)`,
      `${tag}   TopK (t_1)`,
      "unrelated line",
    ].join("\n");
    assert.deepEqual(parsePlacements(log).providers, {
      CUDAExecutionProvider: { nodes: 2300 },
      CPUExecutionProvider: { nodes: 3, op_types: { Shape: 2, TopK: 1 } },
    });
    assert.match(parsePlacements("nothing").note!, /no node placements/);
  });

  it("compares logits: max error, top-1 agreement, decisive misses, and NaN is never within tolerance", () => {
    const ref = Float32Array.of(0, 5, 1, /* */ 2, 2.05, 0);
    const ours = Float32Array.of(0, 4.9, 1, /* */ 2.1, 2, 0);
    const c = compareLogits(ours, ref, 3, 1);
    assert.equal(c.positions, 2);
    assert.equal(c.top1_agreement, 0.5);
    assert.equal(c.decisive_positions, 1, "only the first position leads by more than 1");
    assert.equal(c.decisive_disagreements, 0);
    assert.ok(Math.abs(c.max_abs - 0.1) < 1e-6);
    assert.equal(
      compareLogits(Float32Array.of(Number.NaN, 0), Float32Array.of(0, 0), 2, 1).max_abs,
      Infinity,
    );
  });
});
