// Exactness of one provider's graphs against the CPU float32 graph, which is itself checked
// against the float32 PyTorch reference in the fixtures first (quantized graphs, int8 and int4:
// against the CPU's graph of the same weights with float32 activations, accuracy_level 0, which
// test/engine/quantized.test.ts holds exact against the dequantized weights):
//   - logits of every position (max |Δ|, top-1 agreement; the demo model also needs the same
//     top-1 token wherever the reference's lead is decisive),
//   - masked logits (the random fixtures' masks; the demo model: two language-sized mask sets),
//   - steered and boosted logits (expected-steer.safetensors: steering is the mask input with 1 − S),
//   - token-by-token decoding through the padded KV cache (GroupQueryAttention) equal to one
//     full pass on the same provider, unmasked and masked,
//   - the same decoding with the dense-decode graph variant (all experts at every step; not for
//     quantized graphs, which decode over all experts already).
import { join } from "node:path";
import { existsSync } from "node:fs";
import { f32, i64, readFixture, shape, u8 } from "../fixture-file";
import {
  isQuantized,
  openGraph,
  readShape,
  steeringFromMaskedExperts,
  steeringFromScales,
  type CheckDtype,
  type CheckProvider,
  type CheckSteering,
  type DecodeVariant,
  type OpenedGraph,
  type SimulatedProvider,
} from "./adapter";
import { compareLogits, worst, type Comparison } from "./compare";
import { DenseDecodeUnavailable } from "./dense-decode";
import { twoLanguageMaskSets } from "./language-masks";
import type { CheckRecord } from "./report";

/** Stated tolerances (max |Δ logit|; decisive margin: the lead above which top-1 must agree). */
export const TOLERANCES = {
  /** The CPU float32 graph against the PyTorch fixtures (the project's own exactness bar). */
  cpuReference: { random: { max_abs: 1e-3 }, demo: { max_abs: 2e-3 } },
  /** A provider's float32 graph against the CPU float32 graph (GPU kernels may sum in another order, or in TF32). */
  float32: { random: { max_abs: 5e-3 }, demo: { max_abs: 5e-2, decisive_margin: 0.1 } },
  /** float16 graphs (the GPU default): the project's float16 tolerances. */
  float16: { random: { max_abs: 1e-2 }, demo: { max_abs: 0.25, decisive_margin: 0.25 } },
  /**
   * int8/int4 graphs against the CPU's same quantized weights with float32 activations: bounds
   * for kernels that round the activations to int8 as the CPU's do at accuracy_level 4 (and
   * WebGPU's DP4A path may): measured on the CPU (the dry run), up to 0.039 on the random
   * fixtures and 0.45 on the demo model (test/engine/quantized.test.ts's bound, 0.6) with a
   * float32 cache; with the float16 cache of converter 13, where both graphs round the keys and
   * values and a small difference can fall on the other side of a rounding, 0.061 on the random
   * fixtures. Kernels that multiply in floating point should land far inside them.
   */
  quantized: { random: { max_abs: 0.1 }, demo: { max_abs: 0.6, decisive_margin: 0.1 } },
} as const;

interface Prompt {
  ids: number[];
  /** PyTorch float32 logits from the fixtures, [T, V]. */
  fixture?: Float32Array;
}

interface Setting {
  name: string;
  steering: CheckSteering;
  /** PyTorch float32 logits under this steering, per prompt. */
  fixture?: Float32Array[];
}

interface CheckModel {
  name: string;
  kind: "random" | "demo";
  dir: string;
  prompts: Prompt[];
  settings: Setting[];
  /** Tokens of the first pass before token-by-token decoding. */
  prefill: number;
}

/** The models the check runs: the two random fixtures and the demo model (those present). */
export function checkModels(
  fixturesDir: string,
  demoModelDir: string,
): { models: CheckModel[]; missing: string[] } {
  const models: CheckModel[] = [];
  const missing: string[] = [];
  for (const name of ["random-vd", "random-hd"]) {
    const dir = join(fixturesDir, name);
    if (!existsSync(join(dir, "expected.safetensors"))) {
      missing.push(`${name}: ${dir}/expected.safetensors not found`);
      continue;
    }
    const ex = readFixture(join(dir, "expected.safetensors"));
    const st = readFixture(join(dir, "expected-steer.safetensors"));
    const [B, T] = shape(ex, "input_ids") as [number, number];
    const groupCount = [...ex.keys()].filter((k) => /^mask\.\d+$/.test(k)).length;
    const E = Math.round(Math.sqrt(shape(ex, "mask.0").reduce((a, b) => a * b, 1)));
    const V = shape(ex, "logits").at(-1)!;
    const ids = i64(ex, "input_ids");
    const rows = (t: Float32Array) =>
      Array.from({ length: B }, (_, b) => t.slice(b * T * V, (b + 1) * T * V));
    const plain = rows(f32(ex, "logits"));
    const groupsOf = (prefix: string) =>
      Array.from({ length: groupCount }, (_, g) => f32(st, `${prefix}.${g}`));
    models.push({
      name,
      kind: "random",
      dir,
      prompts: Array.from({ length: B }, (_, b) => ({
        ids: ids.slice(b * T, (b + 1) * T),
        fixture: plain[b],
      })),
      settings: [
        {
          name: "masked",
          steering: steeringFromMaskedExperts(
            Array.from({ length: groupCount }, (_, g) =>
              [...u8(ex, `mask.${g}`)].flatMap((v, e) => (v ? [e] : [])),
            ),
            E,
            "fixture masks",
          ),
          fixture: rows(f32(ex, "masked_logits")),
        },
        {
          name: "steered",
          steering: steeringFromScales(groupsOf("steer"), E, "fixture steer"),
          fixture: rows(f32(st, "steer_logits")),
        },
        {
          name: "boosted",
          steering: steeringFromScales(groupsOf("boost"), E, "fixture boost"),
          fixture: rows(f32(st, "boost_logits")),
        },
      ],
      prefill: 3,
    });
  }
  const demoExpected = join(fixturesDir, "tiny-codemonet", "expected.safetensors");
  if (!existsSync(join(demoModelDir, "config.json"))) missing.push(`demo model: ${demoModelDir} not found`);
  else if (!existsSync(demoExpected)) missing.push(`demo model: ${demoExpected} not found`);
  else {
    const ex = readFixture(demoExpected);
    const prompts = ["python", "cpp", "lua"].map((lang) => ({
      ids: i64(ex, `${lang}.input_ids`),
      fixture: f32(ex, `${lang}.logits`),
    }));
    models.push({ name: "demo", kind: "demo", dir: demoModelDir, prompts, settings: [], prefill: 3 });
  }
  return { models, missing };
}

export interface ExactnessOptions {
  provider: CheckProvider;
  dtypes: CheckDtype[];
  fixturesDir: string;
  demoModelDir: string;
  cacheDir: string;
  threads?: number;
  simulate?: SimulatedProvider;
  /** Called with each finished check (the worker saves after each). */
  record: (c: CheckRecord) => void;
  log: (line: string) => void;
}

/** Thrown when the asked-for provider did not open: the phase is "unavailable", not failed. */
export class ProviderUnavailable extends Error {}

export async function runExactness(o: ExactnessOptions): Promise<{ fallbacks: string[] }> {
  const { models, missing } = checkModels(o.fixturesDir, o.demoModelDir);
  for (const why of missing)
    o.record({
      provider: o.provider,
      dtype: "-",
      model: why.split(":")[0]!,
      check: "all",
      reference: "-",
      status: "skip",
      gate: false,
      reason: why,
    });
  const fallbacks: string[] = [];
  for (const model of models) {
    if (model.kind === "demo") {
      // Two language-sized mask sets, checked against the CPU graph under the same masks.
      const { groups, experts } = readShape(model.dir);
      model.settings.push({
        name: "masked",
        steering: steeringFromMaskedExperts(
          twoLanguageMaskSets(groups, experts),
          experts,
          "two language-sized sets",
        ),
      });
    }
    const references = new Map<CheckDtype, Outputs>();
    const referenceFor = async (dtype: CheckDtype): Promise<Outputs> => {
      const key = isQuantized(dtype) ? dtype : "float32";
      if (!references.has(key)) references.set(key, await cpuReference(model, o, key));
      return references.get(key)!;
    };
    for (const dtype of o.dtypes) {
      const reference = await referenceFor(dtype);
      let fullPasses: Outputs | undefined;
      for (const variant of ["union", "dense"] as DecodeVariant[]) {
        if (variant === "dense" && isQuantized(dtype)) {
          o.record(
            skip(
              o.provider,
              dtype,
              model.name,
              "dense-decode cached decoding",
              "quantized graphs have no union path: every decoding step runs all experts (docs/quantization.md)",
            ),
          );
          continue;
        }
        let g: OpenedGraph;
        try {
          g = await openGraph({
            modelDir: model.dir,
            provider: o.provider,
            dtype,
            cacheDir: o.cacheDir,
            variant,
            threads: o.threads,
            simulate: o.simulate,
            log: o.log,
          });
        } catch (e) {
          if (variant === "dense" && e instanceof DenseDecodeUnavailable) {
            o.record(skip(o.provider, dtype, model.name, "dense-decode cached decoding", e.message));
            continue;
          }
          throw e;
        }
        fallbacks.push(...g.fallbacks.filter((f) => !fallbacks.includes(f)));
        if (g.provider !== o.provider) {
          await g.close();
          throw new ProviderUnavailable(
            `asked for ${o.provider}, the engine opened ${g.provider}: ${g.fallbacks.join("; ") || "no reason given"}`,
          );
        }
        try {
          // The dense variant's full passes are the union graph's (inputs over 8 tokens run all experts in both).
          if (variant === "union") fullPasses = await logitChecks(g, model, dtype, reference, o);
          await decodeChecks(g, model, dtype, variant, reference, fullPasses!, o);
        } finally {
          await g.close();
        }
      }
    }
  }
  return { fallbacks };
}

type Outputs = Map<string, Float32Array[]>; // setting ("plain", "masked", ...) → per prompt [T, V]

/** The name of the CPU reference graph a dtype's checks compare with. */
export function referenceName(dtype: CheckDtype): string {
  return isQuantized(dtype) ? `cpu ${dtype} graph, float32 activations` : "cpu float32 graph";
}

/**
 * The CPU reference graph's logits for every prompt and setting: the float32 graph, checked
 * against the fixtures (a gate), or a quantized graph with float32 activations, whose distance
 * from the fixtures is the quantization's and only reported.
 */
async function cpuReference(
  model: CheckModel,
  o: ExactnessOptions,
  dtype: "float32" | "int8" | "int4",
): Promise<Outputs> {
  const quantized = isQuantized(dtype);
  const ref = await openGraph({
    modelDir: model.dir,
    provider: "cpu",
    dtype,
    accuracyLevel: quantized ? 0 : undefined,
    cacheDir: o.cacheDir,
    threads: o.threads,
  });
  const out: Outputs = new Map();
  try {
    const V = ref.shape.vocab;
    const settings = [
      { name: "plain", steering: undefined, fixture: model.prompts.map((p) => p.fixture) },
      ...model.settings,
    ];
    for (const s of settings) {
      const logits: Float32Array[] = [];
      for (const p of model.prompts) logits.push(await ref.fullPass(p.ids, s.steering));
      out.set(s.name, logits);
      const fixture = s.fixture;
      if (!fixture?.every((f) => f)) continue;
      const tol = TOLERANCES.cpuReference[model.kind];
      const cmp = worst(logits.map((l, i) => compareLogits(l, fixture[i]!, V, Infinity)));
      o.record({
        provider: "cpu",
        dtype: quantized ? `${dtype} (float32 activations)` : dtype,
        model: model.name,
        check: quantized ? `quantization error, ${s.name} logits` : `reference ${s.name} logits`,
        reference: "fixture (PyTorch float32)",
        ...(quantized
          ? {
              status: "pass" as const,
              gate: false,
              reason: "informative: the weights' rounding, not a kernel's",
            }
          : {
              status: cmp.max_abs < tol.max_abs ? ("pass" as const) : ("fail" as const),
              gate: true,
              tolerance: tol,
            }),
        result: cmp,
      });
    }
  } finally {
    await ref.close();
  }
  return out;
}

function tolerance(
  dtype: CheckDtype,
  kind: CheckModel["kind"],
): { max_abs: number; decisive_margin?: number } {
  return TOLERANCES[isQuantized(dtype) ? "quantized" : dtype][kind];
}

function verdict(cmp: Comparison, tol: { max_abs: number; decisive_margin?: number }): "pass" | "fail" {
  const topOk = tol.decisive_margin === undefined || cmp.decisive_disagreements === 0;
  return cmp.max_abs < tol.max_abs && topOk ? "pass" : "fail";
}

/** Full-pass logits against the CPU's, per setting; returns them for the decoding checks. */
async function logitChecks(
  g: OpenedGraph,
  model: CheckModel,
  dtype: CheckDtype,
  ref: Outputs,
  o: ExactnessOptions,
): Promise<Outputs> {
  const V = g.shape.vocab;
  const tol = tolerance(dtype, model.kind);
  const settings = [{ name: "plain", steering: undefined as CheckSteering | undefined }, ...model.settings];
  const fulls: Outputs = new Map();
  for (const s of settings) {
    const cmps: Comparison[] = [];
    const logits: Float32Array[] = [];
    for (const [i, p] of model.prompts.entries()) {
      logits.push(await g.fullPass(p.ids, s.steering));
      cmps.push(compareLogits(logits[i]!, ref.get(s.name)![i]!, V, tol.decisive_margin ?? Infinity));
    }
    fulls.set(s.name, logits);
    const cmp = worst(cmps);
    o.record({
      provider: o.provider,
      dtype,
      model: model.name,
      check: `${s.name} logits`,
      reference: referenceName(dtype),
      status: verdict(cmp, tol),
      gate: true,
      tolerance: tol,
      result: cmp,
    });
  }
  return fulls;
}

async function decodeChecks(
  g: OpenedGraph,
  model: CheckModel,
  dtype: CheckDtype,
  variant: DecodeVariant,
  ref: Outputs,
  fulls: Outputs,
  o: ExactnessOptions,
) {
  const V = g.shape.vocab;
  const tol = tolerance(dtype, model.kind);
  const label = variant === "union" ? "cached decoding" : "dense-decode cached decoding";
  if (!g.paddedCache) {
    o.record(
      skip(o.provider, dtype, model.name, label, "the graph has no padded KV-cache input (past_length)"),
    );
    return;
  }
  const masked = model.settings.find((s) => s.name === "masked");
  for (const s of [
    { name: "plain", steering: undefined as CheckSteering | undefined },
    ...(masked ? [masked] : []),
  ]) {
    const sameProvider: Comparison[] = [];
    const vsCpu: Comparison[] = [];
    for (const [i, p] of model.prompts.entries()) {
      const k = model.prefill;
      const decoded = await g.cachedDecode(p.ids, k, s.steering);
      // The full pass's rows for positions k−1 … T−1.
      const full = fulls.get(s.name)![i]!.subarray((k - 1) * V);
      sameProvider.push(compareLogits(decoded, full, V, tol.decisive_margin ?? Infinity));
      vsCpu.push(
        compareLogits(
          decoded,
          ref.get(s.name)![i]!.subarray((k - 1) * V),
          V,
          tol.decisive_margin ?? Infinity,
        ),
      );
    }
    const name = `${label}${s.name === "plain" ? "" : ` (${s.name})`}`;
    const cmp = worst(sameProvider);
    o.record({
      provider: o.provider,
      dtype,
      model: model.name,
      check: `${name} = full pass`,
      reference: `full pass, same provider and dtype`,
      status: verdict(cmp, tol),
      gate: true,
      tolerance: tol,
      result: cmp,
    });
    const cpu = worst(vsCpu);
    o.record({
      provider: o.provider,
      dtype,
      model: model.name,
      check: `${name} vs cpu`,
      reference: `${referenceName(dtype)}, full pass`,
      status: verdict(cpu, tol),
      gate: true,
      tolerance: tol,
      result: cpu,
    });
  }
}

function skip(provider: string, dtype: string, model: string, check: string, reason: string): CheckRecord {
  return { provider, dtype, model, check, reference: "-", status: "skip", gate: false, reason };
}
