// One forward pass of the converted graph: builds the feeds (tokens, KV cache, steering),
// runs the session and returns logits, the extended cache and, on request, the routing.
import * as ort from "./ort";
import type { MonetConfig } from "../checkpoint/config";
import { routingGroupCount } from "../checkpoint/config";
import { io } from "../model/graph-io";
import { activationDtype, type GraphDtype } from "../model/monet-graph";
import { isLargeModel } from "./dtype";
import { KvCache, type CacheShape } from "./kv-cache";
import type { ProviderName } from "./providers";
import type { Steering } from "./steering";
import { isOutOfMemory, outOfMemoryAtRun } from "./out-of-memory";
import { NonFiniteOutputError } from "./errors";

export interface ForwardRequest {
  /** New tokens, after those in `cache`. */
  ids: readonly number[];
  cache: KvCache;
  /** Scaled or masked experts (default: none). */
  steering?: Steering;
  /** Logits for the last n positions (default 1). */
  numLogits?: number;
  routing?: boolean;
  /**
   * Positions the cache should hold room for after this pass (a generation's prompt plus its
   * most new tokens), so that a padded cache is allocated once at its final size instead of
   * growing, and doubling, while decoding (memory: kv-cache.ts). Default: this pass's end.
   */
  reserve?: number;
}

export interface Routing {
  /** Per routing group: g1 and g2 as [T, H, E]. */
  g1: Float32Array[];
  g2: Float32Array[];
}

export interface ForwardResult {
  /** [numLogits, vocab] row-major. */
  logits: Float32Array;
  cache: KvCache;
  routing?: Routing;
}

/** The graph's steering inputs for one steering state. */
interface SteeringFeeds {
  key: string;
  active: ort.Tensor;
  /** Per routing group: M = 1 − S, E×E. */
  matrices: ort.Tensor[];
}

/**
 * Default prefill chunk on the CPU: a long prompt runs as forward passes of at most this many
 * tokens, each extending the KV cache, so that activation memory stays bounded whatever the
 * prompt's length (the 1.4B's int4 graph: +170 MiB at 128 tokens, +540 MiB at 512 in one pass).
 */
export const CPU_PREFILL_CHUNK = 128;
/**
 * Large models on the CPU (over CPU_FLOAT32_MAX_BYTES of float32 weights: those `auto`
 * quantizes) take half that, where memory is what runs out: the int4 1.4B's peak 87–120 MiB
 * lower with 512- and 1,024-token prompts, for 5 % more prefill time (the demo model would pay
 * 10–15 % and has no memory to save; README "Prefill chunks of 64 for large models").
 */
export const CPU_LARGE_MODEL_PREFILL_CHUNK = 64;
/** GPUs keep long passes (their memory is the weights'; larger batches use them better). */
export const GPU_PREFILL_CHUNK = 512;

/** Tokens per prefill pass on a provider, for a model of `parameters` weights. */
export function prefillChunkFor(ep: ProviderName, parameters: number): number {
  if (ep !== "cpu") return GPU_PREFILL_CHUNK;
  return isLargeModel(parameters) ? CPU_LARGE_MODEL_PREFILL_CHUNK : CPU_PREFILL_CHUNK;
}

export class MonetRunner {
  private readonly groups: number;
  /** The unsteered inputs (M = 0), and the last steering state's: E×E per group, so built once per key. */
  private readonly unsteered: SteeringFeeds;
  private steered: SteeringFeeds | undefined;
  /**
   * The graph takes padded cache buffers and returns the new positions only (padded attention; kv-cache.ts).
   */
  private readonly paddedCache: boolean;
  /** The graph's cache element type (quantized graphs keep a float16 cache: monet-graph.ts kvDtype). */
  private readonly cacheDtype: "float32" | "float16";

  constructor(
    public session: ort.InferenceSession,
    readonly config: MonetConfig,
    /** Called when a run fails; may return a replacement session (another provider) to retry on. */
    private readonly onRunError?: (e: unknown) => Promise<ort.InferenceSession | undefined>,
    /** The converted graph's precision (its activations', so the cache's, element type follows). */
    readonly dtype: GraphDtype = "float32",
    /** Most tokens per forward pass; longer inputs run in chunks (exact: the cache carries them). */
    readonly prefillChunk: number = CPU_PREFILL_CHUNK,
  ) {
    if (!Number.isInteger(prefillChunk) || prefillChunk < 1)
      throw new RangeError(`prefill chunk: ${prefillChunk} tokens; use a positive integer`);
    this.groups = routingGroupCount(config);
    const E = config.moeExperts;
    this.unsteered = {
      key: "",
      active: new ort.Tensor("bool", Uint8Array.of(0), []),
      matrices: Array.from(
        { length: this.groups },
        () => new ort.Tensor("float32", new Float32Array(E * E), [E, E]),
      ),
    };
    this.paddedCache = session.inputNames.includes(io.pastLength);
    this.cacheDtype = cacheDtypeOf(session, this.dtype);
  }

  /** The shape of this model's KV cache, for KvCache.empty. */
  cacheShape(): CacheShape {
    return {
      numLayers: this.config.numLayers,
      numKvHeads: this.config.numKvHeads,
      headDim: this.config.headDim,
      dtype: this.cacheDtype,
    };
  }

  get maxPositions(): number {
    return this.config.maxPositionEmbeddings;
  }

  async forward(req: ForwardRequest): Promise<ForwardResult> {
    const c = this.config;
    const T = req.ids.length;
    if (T === 0) throw new Error("forward needs at least one token");
    if (req.cache.length + T > c.maxPositionEmbeddings) {
      throw new Error(
        `the context (${req.cache.length + T} tokens) exceeds the model's ` +
          `${c.maxPositionEmbeddings} positions`,
      );
    }
    if (T <= this.prefillChunk) return this.forwardOnce(req);
    // Chunks in order, each on the cache of those before: the logits of the last n positions
    // and the routing of every position are gathered from the chunks that hold them.
    const wanted = Math.min(req.numLogits ?? 1, T);
    const logits: Float32Array[] = [];
    const g1: Float32Array[][] = [];
    const g2: Float32Array[][] = [];
    let cache = req.cache;
    for (let start = 0; start < T; start += this.prefillChunk) {
      const ids = req.ids.slice(start, start + this.prefillChunk);
      const end = start + ids.length;
      const keep = Math.max(0, end - Math.max(start, T - wanted)); // of this chunk's last positions
      const out = await this.forwardOnce({
        ids,
        cache,
        steering: req.steering,
        numLogits: Math.max(1, keep),
        routing: req.routing,
        reserve: req.reserve,
      });
      cache = out.cache;
      if (keep > 0) logits.push(out.logits);
      if (out.routing) {
        g1.push(out.routing.g1);
        g2.push(out.routing.g2);
      }
    }
    const result: ForwardResult = { logits: concatFloat32(logits), cache };
    if (req.routing) {
      const byGroup = (parts: Float32Array[][]) =>
        Array.from({ length: this.groups }, (_, g) => concatFloat32(parts.map((p) => p[g]!)));
      result.routing = { g1: byGroup(g1), g2: byGroup(g2) };
    }
    return result;
  }

  /** One forward pass of all of `req.ids`. */
  private async forwardOnce(req: ForwardRequest): Promise<ForwardResult> {
    const c = this.config;
    const T = req.ids.length;
    const steering = this.steeringFeeds(req.steering);
    const feeds: Record<string, ort.Tensor> = {
      [io.inputIds]: new ort.Tensor(
        "int64",
        BigInt64Array.from(req.ids, (v) => BigInt(v)),
        [1, T],
      ),
      [io.numLogits]: new ort.Tensor("int64", BigInt64Array.of(BigInt(Math.min(req.numLogits ?? 1, T))), [1]),
      [io.maskActive]: steering.active,
    };
    for (let g = 0; g < this.groups; g++) feeds[io.mask(g)] = steering.matrices[g]!;
    const cache = this.paddedCache
      ? req.cache.withRoom(Math.max(req.cache.length + T, req.reserve ?? 0), c.maxPositionEmbeddings)
      : req.cache;
    if (this.paddedCache)
      feeds[io.pastLength] = new ort.Tensor("int64", BigInt64Array.of(BigInt(cache.length)), [1]);
    for (let l = 0; l < c.numLayers; l++) {
      feeds[io.pastKey(l)] = cache.keys[l]!;
      feeds[io.pastValue(l)] = cache.values[l]!;
    }
    const fetches = [io.logits];
    for (let l = 0; l < c.numLayers; l++) fetches.push(io.presentKey(l), io.presentValue(l));
    if (req.routing) for (let g = 0; g < this.groups; g++) fetches.push(io.g1(g), io.g2(g));
    let out: ort.InferenceSession.OnnxValueMapType;
    try {
      out = await this.session.run(feeds, fetches);
    } catch (e) {
      const replacement = await this.onRunError?.(e);
      if (!replacement)
        throw isOutOfMemory(e) ? outOfMemoryAtRun(c, this.dtype, cache.length + T, e, this.cacheDtype) : e;
      this.session = replacement;
      out = await this.session.run(feeds, fetches);
    }
    const keys = Array.from({ length: c.numLayers }, (_, l) => out[io.presentKey(l)]!);
    const values = Array.from({ length: c.numLayers }, (_, l) => out[io.presentValue(l)]!);
    const logits = out[io.logits]!.data as Float32Array;
    // float16 overflows past 65,504 (squared-ReLU activations, the residual stream of a model
    // trained in bf16): its inf/NaN reach the logits. Checked here, on every run, so that no
    // token is ever sampled from them (a pass over vocab floats: nothing next to the run).
    if (this.dtype === "float16") {
      const bad = firstNonFinite(logits);
      if (bad >= 0)
        throw new NonFiniteOutputError(
          `the float16 graph gave a non-finite logit (${logits[bad]} at position ${Math.floor(bad / c.vocabSize)}, token ${bad % c.vocabSize}): an activation exceeded float16's range`,
        );
    }
    const result: ForwardResult = {
      logits,
      cache: this.paddedCache
        ? cache.append(req.ids, keys, values)
        : KvCache.of(cache.shape, [...cache.tokens, ...req.ids], keys, values),
    };
    if (req.routing) {
      result.routing = {
        g1: Array.from({ length: this.groups }, (_, g) => out[io.g1(g)]!.data as Float32Array),
        g2: Array.from({ length: this.groups }, (_, g) => out[io.g2(g)]!.data as Float32Array),
      };
    }
    return result;
  }
  /**
   * The graph's inputs for `steering`: M = 1 − S per routing group (monet-math.md, Steering),
   * built here only, and kept for the last key (typing sends the same steering every time).
   */
  private steeringFeeds(steering: Steering | undefined): SteeringFeeds {
    if (!steering?.key) return this.unsteered;
    if (this.steered?.key === steering.key) return this.steered;
    const E = this.config.moeExperts;
    if (steering.experts !== E || steering.groups.length !== this.groups)
      throw new Error(
        `the steering is for ${steering.groups.length} groups of ${steering.experts}² experts; ` +
          `the model has ${this.groups} of ${E}²`,
      );
    this.steered = {
      key: steering.key,
      active: new ort.Tensor("bool", Uint8Array.of(1), []),
      matrices: steering.groups.map(({ indices, scales }) => {
        const m = new Float32Array(E * E);
        indices.forEach((e, n) => {
          m[e] = 1 - scales[n]!;
        });
        return new ort.Tensor("float32", m, [E, E]);
      }),
    };
    return this.steered;
  }
}

function concatFloat32(parts: readonly Float32Array[]): Float32Array {
  if (parts.length === 1) return parts[0]!;
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** The index of the first inf or NaN of `x`, or -1. */
export function firstNonFinite(x: Float32Array): number {
  for (let i = 0; i < x.length; i++) if (!Number.isFinite(x[i]!)) return i;
  return -1;
}

/**
 * The element type of the graph's cache inputs, as the session declares it (quantized graphs
 * keep a float16 cache under float32 activations), else the activations' type.
 */
function cacheDtypeOf(session: ort.InferenceSession, dtype: GraphDtype): "float32" | "float16" {
  const meta = (session.inputMetadata as readonly ort.InferenceSession.ValueMetadata[] | undefined)?.find(
    (m) => m.name === io.pastKey(0),
  );
  const type = meta?.isTensor ? meta.type : undefined;
  return type === "float16" || type === "float32" ? type : activationDtype(dtype);
}
