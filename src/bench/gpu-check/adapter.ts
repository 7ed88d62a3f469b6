// Every use of the engine's API by the GPU check, in one place, so that a change of that API
// (e.g. masks becoming a `Steering` type) is adapted here alone. Two ways in:
//   - openGraph: one converted graph on one provider through the runner (full passes and
//     token-by-token cached decoding), for exactness; a run-time failure throws, never falls back;
//   - openEngine: the product's Engine (the generation loop `monet-lens bench` measures), for speed.
// Both report the provider that actually runs, so the caller can refuse figures from a fallback.
import * as ort from "../../engine/ort";
import { Checkpoint } from "../../checkpoint/checkpoint";
import { loadConfig, routingGroupCount } from "../../checkpoint/config";
import { Engine } from "../../engine/engine";
import { KvCache } from "../../engine/kv-cache";
import { type Steering, steeringFromIndexLists, steeringFromScaledExperts } from "../../engine/steering";
import { ensureConverted } from "../../engine/model-store";
import { MonetRunner, prefillChunkFor } from "../../engine/runner";
import { openSession, type SessionFactory } from "../../engine/session";
import { io } from "../../model/graph-io";
import type { GraphDtype } from "../../model/monet-graph";
import { probeProviders, type ProviderName, type ProviderProbe } from "../../engine/providers";
import { denseDecodePath } from "./dense-decode";

export type CheckProvider = ProviderName;
export type CheckDtype = GraphDtype;
export { isQuantized } from "../../model/monet-graph";
/** "union": the graph as converted (decoding over the union of surviving experts); "dense": all experts. */
export type DecodeVariant = "union" | "dense";

export interface ModelShape {
  vocab: number;
  /** Pieces of the model's tokenizer (random prompts stay inside it). */
  tokenizerPieces?: number;
  layers: number;
  groups: number;
  experts: number;
  kvHeads: number;
  headDim: number;
  maxPositions: number;
  moeTopk: number;
}

/** Steering as the engine takes it (a mask is scale 0 on the masked experts). */
export type CheckSteering = Steering;

export function steeringFromMaskedExperts(
  perGroup: ArrayLike<number>[],
  experts: number,
  label: string,
): CheckSteering {
  return steeringFromIndexLists(perGroup, experts, label);
}

/** From dense E×E scale matrices per group (the fixtures' `steer.{g}`): only scales ≠ 1 are kept. */
export function steeringFromScales(scales: Float32Array[], experts: number, label: string): CheckSteering {
  return steeringFromScaledExperts(
    scales.map((m) => Array.from(m.entries()).filter(([, v]) => v !== 1)),
    experts,
    label,
  );
}

/** Tests: pretend `provider` is installed; its sessions are CPU sessions that fail as told. */
export interface SimulatedProvider {
  provider: Exclude<CheckProvider, "cpu">;
  /** open-fails: session creation fails; run-fails: runs fail after `okRuns` successful ones. */
  mode: "open-fails" | "run-fails";
  okRuns?: number;
}

interface SessionHooks {
  create?: SessionFactory;
  probes?: ProviderProbe[];
}

function simulatedHooks(sim: SimulatedProvider | undefined, base: SessionFactory): SessionHooks {
  if (!sim) return { create: base };
  const probes: ProviderProbe[] = [
    { name: sim.provider, available: true, reason: `simulated ${sim.provider} (test)` },
    { name: "cpu", available: true, reason: "always available" },
  ];
  let runs = 0;
  const create: SessionFactory = async (path, options) => {
    const wanted = (options.executionProviders ?? []).map((p) => (typeof p === "string" ? p : p.name));
    if (!wanted.includes(sim.provider)) return base(path, options);
    if (sim.mode === "open-fails") throw new Error(`simulated ${sim.provider} failure at session creation`);
    const session = await base(path, { ...options, executionProviders: ["cpu"] });
    const run = session.run.bind(session);
    Object.assign(session, {
      run: (...args: Parameters<typeof run>) => {
        if (runs++ >= (sim.okRuns ?? 0))
          return Promise.reject(new Error(`simulated ${sim.provider} failure at run time`));
        return run(...args);
      },
    });
    return session;
  };
  return { create, probes };
}

const plainFactory: SessionFactory = (path, options) => ort.InferenceSession.create(path, options);

/** A session factory that opens the dense-decode variant of whatever graph it is given. */
function variantFactory(variant: DecodeVariant, base: SessionFactory): SessionFactory {
  if (variant === "union") return base;
  return async (path, options) => base(denseDecodePath(path), options);
}

export interface OpenOptions {
  modelDir: string;
  provider: CheckProvider;
  dtype: CheckDtype;
  /** Conversion cache (MONET_LENS_CACHE layout). */
  cacheDir: string;
  variant?: DecodeVariant;
  /**
   * Quantized graphs: 0 converts with float32 activations in MatMulNBits (exact against the
   * dequantized weights), the CPU reference for a provider's quantized graph; default: the
   * product's conversion (accuracy_level 4).
   */
  accuracyLevel?: 0;
  threads?: number;
  simulate?: SimulatedProvider;
  log?: (line: string) => void;
}

export interface Opened {
  /** The provider that runs now (may differ from the one asked for: the caller must check). */
  readonly provider: CheckProvider;
  /** Why providers were skipped, failed, or were left at run time. */
  readonly fallbacks: readonly string[];
  readonly shape: ModelShape;
  close(): Promise<void>;
}

export interface OpenedGraph extends Opened {
  /** The graph takes padded KV-cache buffers and `past_length` (padded attention: src/model/attention.ts). */
  readonly paddedCache: boolean;
  /** Logits of every position, [T, V]. */
  fullPass(ids: readonly number[], steering?: CheckSteering): Promise<Float32Array>;
  /** A forward pass of `ids` with an empty cache returning one position's logits (prefill timing). */
  prefill(ids: readonly number[], steering?: CheckSteering): Promise<void>;
  /**
   * `ids[0..prefill)` in one pass, then one token at a time with the KV cache: the logits of
   * positions prefill−1 … T−1, [T − prefill + 1, V].
   */
  cachedDecode(ids: readonly number[], prefill: number, steering?: CheckSteering): Promise<Float32Array>;
}

function shapeOf(c: ReturnType<typeof loadConfig>, tokenizerPieces?: number): ModelShape {
  return {
    vocab: c.vocabSize,
    tokenizerPieces,
    layers: c.numLayers,
    groups: routingGroupCount(c),
    experts: c.moeExperts,
    kvHeads: c.numKvHeads,
    headDim: c.headDim,
    maxPositions: c.maxPositionEmbeddings,
    moeTopk: c.moeTopk,
  };
}

/** The shape of a checkpoint folder's model, from its config.json alone. */
export function readShape(modelDir: string): ModelShape {
  return shapeOf(loadConfig(modelDir));
}

/** Converts (cached) and opens one graph on `provider`, without any silent fallback at run time. */
export async function openGraph(opts: OpenOptions): Promise<OpenedGraph> {
  const ckpt = await Checkpoint.open(opts.modelDir);
  let converted: Awaited<ReturnType<typeof ensureConverted>>;
  try {
    converted = await ensureConverted(ckpt, {
      cacheDir: opts.cacheDir,
      dtype: opts.dtype,
      accuracyLevel: opts.accuracyLevel,
      log: opts.log,
    });
  } finally {
    await ckpt.close();
  }
  // The variant is written before any session opens: a graph it cannot rewrite is an error
  // here, not a session-creation failure that would fall back to another provider.
  const modelPath =
    (opts.variant ?? "union") === "dense" ? denseDecodePath(converted.modelPath) : converted.modelPath;
  const hooks = simulatedHooks(opts.simulate, plainFactory);
  const opened = await openSession(modelPath, {
    ep: opts.provider,
    threads: opts.threads,
    ...hooks,
  });
  const config = ckpt.config;
  // No onRunError: a provider failing at run time makes the check fail, it does not move to the CPU.
  const runner = new MonetRunner(
    opened.session,
    config,
    undefined,
    converted.manifest.dtype,
    prefillChunkFor(opened.ep, ckpt.parameterCount()),
  );
  const V = config.vocabSize;
  const empty = () => KvCache.empty(runner.cacheShape());
  return {
    provider: opened.ep,
    fallbacks: opened.fallbacks,
    shape: shapeOf(config),
    paddedCache: opened.session.inputNames.includes(io.pastLength),
    async fullPass(ids, steering) {
      const out = await runner.forward({
        ids,
        cache: empty(),
        numLogits: ids.length,
        steering,
      });
      return out.logits;
    },
    async prefill(ids, steering) {
      await runner.forward({ ids, cache: empty(), numLogits: 1, steering });
    },
    async cachedDecode(ids, prefill, steering) {
      const rows = new Float32Array((ids.length - prefill + 1) * V);
      let step = await runner.forward({ ids: ids.slice(0, prefill), cache: empty(), steering });
      rows.set(step.logits.subarray(0, V), 0);
      for (let t = prefill; t < ids.length; t++) {
        step = await runner.forward({ ids: [ids[t]!], cache: step.cache, steering });
        rows.set(step.logits.subarray(0, V), (t - prefill + 1) * V);
      }
      return rows;
    },
    close: () => runner.session.release(),
  };
}

export interface DecodeRun {
  prefillMs: number;
  decodeTokensPerS: number;
  /** Tokens generated (the first comes from the prefill's logits). */
  tokens: number;
  /** Prompt tokens taken from the cache (0 = a cold prefill). */
  reusedTokens: number;
  /** The generated token ids. */
  ids: number[];
}

export interface OpenedEngine extends Opened {
  /** A cold prefill of `ids` (cache dropped first), in ms. */
  prefillMs(ids: readonly number[], steering?: CheckSteering): Promise<number>;
  /**
   * Greedy decoding of `newTokens` after `prompt`, end of sequence ignored. The cache is kept:
   * the same prompt again reuses it (no second prefill).
   */
  decode(prompt: readonly number[], newTokens: number, steering?: CheckSteering): Promise<DecodeRun>;
  resetCache(): void;
}

/** Opens the product's Engine on `provider` (it may fall back: read `provider` after every call). */
export async function openEngine(opts: OpenOptions): Promise<OpenedEngine> {
  const variant = opts.variant ?? "union";
  if (variant === "dense") denseDecodePath(await convertAhead(opts.modelDir, opts.dtype, opts.cacheDir));
  const hooks = simulatedHooks(opts.simulate, variantFactory(variant, plainFactory));
  const engine = await Engine.open({
    modelDir: opts.modelDir,
    ep: opts.provider,
    dtype: opts.dtype,
    threads: opts.threads,
    cacheDir: opts.cacheDir,
    log: opts.log,
    sessions: hooks,
  });
  return {
    get provider() {
      return engine.ep;
    },
    fallbacks: engine.fallbacks,
    shape: shapeOf(engine.config, engine.tokenizer.vocabSize),
    async prefillMs(ids, steering) {
      engine.resetCache();
      const r = await engine.generateIds(ids, { maxTokens: 1, steering });
      return r.prefillMs;
    },
    async decode(prompt, newTokens, steering) {
      const r = await engine.generateIds(prompt, {
        maxTokens: newTokens,
        stopTokens: [],
        ignoreEos: true,
        steering,
      });
      return {
        prefillMs: r.prefillMs,
        decodeTokensPerS: r.decodeTokensPerS,
        tokens: r.ids.length,
        reusedTokens: r.reusedTokens,
        ids: r.ids,
      };
    },
    resetCache: () => engine.resetCache(),
    close: () => engine.close(),
  };
}

/** Converts a checkpoint ahead of time (e.g. while another check runs) into the cache. */
export async function convertAhead(modelDir: string, dtype: CheckDtype, cacheDir: string): Promise<string> {
  const ckpt = await Checkpoint.open(modelDir);
  try {
    return (await ensureConverted(ckpt, { cacheDir, dtype })).modelPath;
  } finally {
    await ckpt.close();
  }
}

/** What this process's onnxruntime-node can run, as the engine sees it. */
export function providerProbes(): ProviderProbe[] {
  return probeProviders();
}

/** The onnxruntime versions this process loaded. */
export function onnxruntimeVersions(): Record<string, string> {
  const v = ort.env.versions as Record<string, string | undefined>;
  return Object.fromEntries(Object.entries(v).filter((e): e is [string, string] => typeof e[1] === "string"));
}

/** The engine's seeded generator (mulberry32), for reproducible prompts and mask sets. */
export { seededRandom } from "../../engine/sampler";

/**
 * Opens `modelPath` on `provider` alone with onnxruntime's verbose log, whose "Node placements"
 * lines (stderr) say which nodes run on which provider; for a child process (placement.ts).
 */
export async function openWithPlacementLog(modelPath: string, provider: CheckProvider): Promise<void> {
  const session = await ort.InferenceSession.create(modelPath, {
    executionProviders: [provider],
    graphOptimizationLevel: "all",
    logSeverityLevel: 0,
    logVerbosityLevel: 0,
  });
  await session.release();
}
