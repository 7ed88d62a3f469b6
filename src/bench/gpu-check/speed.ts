// Speed of one provider through the product's engine (what `monet-lens bench` measures):
// cold prefill of each length, greedy decoding after prompts of each context length, the
// same under two language-sized masks, and decoding with the dense-decode graph variant.
// Every figure is the median of `runs` after one warm-up. Nothing is measured past the
// deadline: an item that would not fit is skipped with the reason, and a provider that
// falls back to another at run time ends the phase without reporting the fallback's figures.
import {
  isQuantized,
  openEngine,
  seededRandom,
  steeringFromMaskedExperts,
  type CheckDtype,
  type CheckProvider,
  type CheckSteering,
  type OpenedEngine,
  type SimulatedProvider,
} from "./adapter";
import { DenseDecodeUnavailable } from "./dense-decode";
import { TWO_LANGUAGE_LABEL, twoLanguageMaskSets } from "./language-masks";
import { gpuMemory } from "./machine";
import type { Figure, SpeedResult } from "./report";

export interface SpeedPlan {
  /** Prompt lengths of the cold prefills (capped at the model's positions − 1). */
  prefill: number[];
  /** Context lengths before decoding (capped so that the new tokens fit). */
  contexts: number[];
  newTokens: number;
  /** Measured runs per figure, after one warm-up. */
  runs: number;
}

export const GPU_PLAN: SpeedPlan = {
  prefill: [512, 2048],
  contexts: [128, 512, 2048],
  newTokens: 32,
  runs: 3,
};
export const DRY_RUN_PLAN: SpeedPlan = { prefill: [64, 128], contexts: [32, 96], newTokens: 8, runs: 2 };

export interface SpeedOptions {
  provider: CheckProvider;
  dtype: CheckDtype;
  modelDir: string;
  modelLabel: string;
  cacheDir: string;
  plan: SpeedPlan;
  deadlineMs: number;
  threads?: number;
  simulate?: SimulatedProvider;
  log: (line: string) => void;
  /** Called after each figure with the result so far (the worker saves it). */
  progress: (s: SpeedResult) => void;
}

/** The provider fell back to another at run time: the phase failed. */
export class ProviderLeft extends Error {}
/** The provider did not open at all. */
export class SpeedProviderUnavailable extends Error {}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const round = (x: number) => Math.round(x * 100) / 100;

export async function runSpeed(o: SpeedOptions): Promise<SpeedResult> {
  const result: SpeedResult = {
    model: o.modelLabel,
    dtype: o.dtype,
    prefill_ms: {},
    decode_tokens_per_s: {},
    masked_label: TWO_LANGUAGE_LABEL,
    masked_prefill_ms: {},
    masked_decode_tokens_per_s: {},
    dense_decode_tokens_per_s: {},
    union_vs_dense_greedy: {},
    gpu_memory_mib: { before_open: gpuMemory() },
  };
  const save = () => o.progress(result);
  const est = new Estimates();
  const left = () => o.deadlineMs - Date.now();
  const fits = (ms: number): string | undefined =>
    ms < left() - 3000
      ? undefined
      : `time budget: about ${(ms / 1000).toFixed(0)} s needed, ${(left() / 1000).toFixed(0)} s left`;

  const t0 = Date.now();
  const engine = await openEngine({ ...common(o), variant: "union" });
  result.open_s = round((Date.now() - t0) / 1000);
  const unionIds: Record<string, number[]> = {};
  try {
    if (engine.provider !== o.provider)
      throw new SpeedProviderUnavailable(
        `asked for ${o.provider}, the engine opened ${engine.provider}: ${engine.fallbacks.join("; ")}`,
      );
    result.gpu_memory_mib.after_open = gpuMemory();
    save();
    const prompt = promptsFor(engine);
    const masks = steeringFromMaskedExperts(
      twoLanguageMaskSets(engine.shape.groups, engine.shape.experts),
      engine.shape.experts,
      TWO_LANGUAGE_LABEL,
    );
    for (const steering of [undefined, masks]) {
      const prefillOut = steering ? result.masked_prefill_ms : result.prefill_ms;
      const decodeOut = steering ? result.masked_decode_tokens_per_s : result.decode_tokens_per_s;
      for (const asked of o.plan.prefill) {
        const n = Math.min(asked, engine.shape.maxPositions - 1);
        const key = String(asked);
        const why = fits((o.plan.runs + 1) * est.prefillMs(n));
        if (why) {
          prefillOut[key] = { skipped: why };
          continue;
        }
        const times: number[] = [];
        for (let i = 0; i <= o.plan.runs; i++) {
          const ms = await engine.prefillMs(prompt(n), steering);
          stayed(engine, o);
          if (i > 0) times.push(ms);
          est.sawPrefill(n, ms);
        }
        prefillOut[key] = figure(
          median(times),
          "ms",
          times,
          n,
          n !== asked ? `${n} tokens: the model has ${engine.shape.maxPositions} positions` : undefined,
        );
        save();
      }
      await decodeFigures(
        engine,
        o,
        est,
        fits,
        prompt,
        steering,
        decodeOut,
        steering ? undefined : unionIds,
        save,
      );
      result.gpu_memory_mib[steering ? "after_masked" : "after_decode"] = gpuMemory();
      save();
    }
  } finally {
    await engine.close();
  }

  // Union (as converted) vs dense decoding: the same graph with every step over all experts.
  if (isQuantized(o.dtype)) {
    for (const c of o.plan.contexts)
      result.dense_decode_tokens_per_s[String(c)] = {
        skipped: "quantized graphs have no union path: every decoding step runs all experts already",
      };
    return result;
  }
  const why = fits(o.plan.contexts.reduce((ms, c) => ms + est.decodeMs(c, o.plan), 0) + 20_000);
  if (why) {
    for (const c of o.plan.contexts) result.dense_decode_tokens_per_s[String(c)] = { skipped: why };
    return result;
  }
  let dense: OpenedEngine;
  try {
    dense = await openEngine({ ...common(o), variant: "dense" });
  } catch (e) {
    if (!(e instanceof DenseDecodeUnavailable)) throw e;
    for (const c of o.plan.contexts) result.dense_decode_tokens_per_s[String(c)] = { skipped: e.message };
    return result;
  }
  try {
    if (dense.provider !== o.provider)
      throw new ProviderLeft(
        `the dense-decode graph opened on ${dense.provider}: ${dense.fallbacks.join("; ")}`,
      );
    const denseIds: Record<string, number[]> = {};
    await decodeFigures(
      dense,
      o,
      est,
      fits,
      promptsFor(dense),
      undefined,
      result.dense_decode_tokens_per_s,
      denseIds,
      save,
    );
    for (const [c, ids] of Object.entries(denseIds)) {
      const u = unionIds[c];
      if (!u) continue;
      let k = 0;
      while (k < Math.min(u.length, ids.length) && u[k] === ids[k]) k++;
      result.union_vs_dense_greedy![c] = { agree_prefix: k, of: Math.min(u.length, ids.length) };
    }
    result.gpu_memory_mib.dense_after_decode = gpuMemory();
  } finally {
    await dense.close();
  }
  return result;
}

/** Random prompts within the tokenizer's pieces, the same for a length wherever they are used. */
function promptsFor(engine: OpenedEngine): (n: number) => number[] {
  const pieces = Math.max(4, (engine.shape.tokenizerPieces ?? engine.shape.vocab) - 3);
  const cache = new Map<number, number[]>();
  return (n) => {
    if (!cache.has(n)) {
      const random = seededRandom(n);
      cache.set(
        n,
        Array.from({ length: n }, () => 3 + Math.floor(random() * pieces)),
      );
    }
    return cache.get(n)!;
  };
}

function common(o: SpeedOptions) {
  return {
    modelDir: o.modelDir,
    provider: o.provider,
    dtype: o.dtype,
    cacheDir: o.cacheDir,
    threads: o.threads,
    simulate: o.simulate,
    log: o.log,
  };
}

/** Decode tokens/s after a prompt of each context length: one warm-up run, then `runs` reusing its prefill. */
async function decodeFigures(
  engine: OpenedEngine,
  o: SpeedOptions,
  est: Estimates,
  fits: (ms: number) => string | undefined,
  prompt: (n: number) => number[],
  steering: CheckSteering | undefined,
  out: Record<string, Figure>,
  firstIds: Record<string, number[]> | undefined,
  save: () => void,
) {
  const { newTokens, runs } = o.plan;
  for (const asked of o.plan.contexts) {
    const n = Math.min(asked, engine.shape.maxPositions - newTokens - 1);
    const key = String(asked);
    const why = fits(est.decodeMs(n, o.plan));
    if (why) {
      out[key] = { skipped: why };
      continue;
    }
    engine.resetCache();
    const rates: number[] = [];
    for (let i = 0; i <= runs; i++) {
      const r = await engine.decode(prompt(n), newTokens, steering);
      stayed(engine, o);
      if (i === 0) {
        est.sawPrefill(n, r.prefillMs);
        if (firstIds) firstIds[key] = r.ids;
      } else rates.push(r.decodeTokensPerS);
      if (r.decodeTokensPerS > 0) est.sawDecode(n, 1000 / r.decodeTokensPerS);
    }
    out[key] = figure(
      median(rates),
      "tokens/s",
      rates,
      n,
      n !== asked
        ? `prompt of ${n} tokens, so that ${newTokens} new tokens end at position ${n + newTokens} of ${engine.shape.maxPositions}`
        : `prompt of ${n} tokens, ${newTokens} new tokens`,
    );
    save();
  }
}

/** A provider that fell back to another at run time: its figures are not this provider's. */
function stayed(engine: OpenedEngine, o: SpeedOptions) {
  if (engine.provider !== o.provider)
    throw new ProviderLeft(
      `${o.provider} left at run time, the engine moved to ${engine.provider}: ${engine.fallbacks.at(-1) ?? ""}`,
    );
}

function figure(value: number, unit: string, runs: number[], tokens: number, note?: string): Figure {
  return { value: round(value), unit, runs: runs.map(round), tokens, ...(note ? { note } : {}) };
}

/** Rough costs from what was measured so far, to skip what would not fit in the budget. */
class Estimates {
  private prefillPerToken: number | undefined;
  private decodePerToken: number | undefined;

  sawPrefill(n: number, ms: number) {
    this.prefillPerToken = ms / n;
  }
  sawDecode(_context: number, ms: number) {
    this.decodePerToken = ms;
  }
  /** Unknown: assume a slow first run (kernel compilation, e.g. WebGPU shaders). */
  prefillMs(n: number): number {
    return this.prefillPerToken === undefined ? 5000 : 1.5 * this.prefillPerToken * n;
  }
  decodeMs(context: number, plan: SpeedPlan): number {
    const perToken = this.decodePerToken === undefined ? 200 : 1.5 * this.decodePerToken;
    return this.prefillMs(context) + (plan.runs + 1) * plan.newTokens * perToken;
  }
}
