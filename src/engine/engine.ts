// The engine: a checkpoint folder in, a running model out. Opens and validates the
// checkpoint, converts it to ONNX once (cached), opens a session on the best provider,
// and serves generation and routing requests one at a time.
import type { MonetConfig } from "../checkpoint/config";
import type { SentencePieceTokenizer } from "../tokenizer/tokenizer";
import { generate, type CacheSlot, type GenerateOptions, type GenerateResult } from "./generate";
import { KvCache } from "./kv-cache";
import { openModelFolder } from "./model-folder";
import { modelIdentity, type ModelIdentity } from "./model-identity";
import { embeddedModelDir } from "./model-paths";
import { ensureConverted, type StoreOptions } from "./model-store";
import type { EpPreference, ProviderName } from "./providers";
import { OutOfMemoryError } from "./out-of-memory";
import { MonetRunner, prefillChunkFor, type Routing } from "./runner";
import { GRAPH_DTYPES, type GraphDtype } from "../model/monet-graph";
import { autoDtype } from "./dtype";
import { openSession, plannedProvider, type SessionOptions } from "./session";
import { NonFiniteOutputError } from "./errors";
import type { Steering } from "./steering";

/** The graph's precision: auto (see autoDtype), or one of the converter's (docs/quantization.md). */
export const DTYPE_CHOICES = ["auto", ...GRAPH_DTYPES] as const;
export type DtypeChoice = (typeof DTYPE_CHOICES)[number];

export interface EngineOptions extends Omit<StoreOptions, "dtype"> {
  /** Checkpoint folder; default the embedded demo model. */
  modelDir?: string;
  ep?: EpPreference;
  threads?: number;
  /** Weights and activations (default auto: autoDtype). */
  dtype?: DtypeChoice;
  /** Tests: a session factory and provider probes (e.g. a GPU provider that fails). */
  sessions?: Pick<SessionOptions, "create" | "probes">;
  /** onnxruntime's profiler (session.ts), its trace written when the engine closes. */
  profilePrefix?: string;
}

export interface RoutedText {
  ids: number[];
  /** [start, end) of each token in the input text (UTF-16 code units). */
  spans: Array<[number, number]>;
  pieces: string[];
  routing: Routing;
  /** Tokens and experts of the routing arrays: [T, H, E] per group. */
  shape: { tokens: number; heads: number; experts: number; groups: number };
}

/** What the engine has done, for load tests and diagnostics. */
export interface EngineStats {
  /** Generations finished (cancelled ones included). */
  generations: number;
  cancelled: number;
  /** Generations running now, and the most ever running at once (requests run one at a time: 1). */
  running: number;
  maxRunning: number;
}

export class Engine {
  private slot: CacheSlot = { cache: undefined, steeringKey: "" };
  /** Opens the float32 graph of the model (set by open): where a float16 overflow goes. */
  private float32Runner: (() => Promise<MonetRunner>) | undefined;
  private log: ((line: string) => void) | undefined;
  readonly stats: EngineStats = { generations: 0, cancelled: 0, running: 0, maxRunning: 0 };
  private queue: Promise<unknown> = Promise.resolve();
  /** Whether the session records onnxruntime's profile (written at close). */
  private profiling = false;

  private constructor(
    readonly modelDir: string,
    readonly config: MonetConfig,
    /** The model's name, fingerprint and configuration summary, computed once at open. */
    readonly identity: ModelIdentity,
    readonly tokenizer: SentencePieceTokenizer,
    private runner: MonetRunner,
    public ep: ProviderName,
    readonly fallbacks: string[],
    readonly convertedDir: string,
  ) {}

  static async open(opts: EngineOptions = {}): Promise<Engine> {
    const modelDir = opts.modelDir ?? embeddedModelDir();
    const { checkpoint: ckpt, tokenizer } = await openModelFolder(modelDir);
    try {
      const dtype =
        opts.dtype && opts.dtype !== "auto"
          ? opts.dtype
          : autoDtype(plannedProvider(opts.ep ?? "auto", opts.sessions?.probes), ckpt.parameterCount());
      let converted = await ensureConverted(ckpt, { ...opts, dtype });
      const open = () =>
        openSession(converted.modelPath, {
          ep: opts.ep ?? "auto",
          threads: opts.threads,
          profilePrefix: opts.profilePrefix,
          ...opts.sessions,
        });
      let opened: Awaited<ReturnType<typeof open>>;
      try {
        opened = await open();
      } catch (e) {
        // A cached conversion that onnxruntime cannot open (damaged in a way its checksums did
        // not show, or written by a faulty version) is rebuilt once, not reported forever.
        if (converted.converted || e instanceof OutOfMemoryError) throw e;
        opts.log?.(
          `onnxruntime could not open the cached conversion ${converted.modelPath} ` +
            `(${(e instanceof Error ? e.message : String(e)).split("\n").slice(0, 2).join(" ")}); rebuilding it`,
        );
        converted = await ensureConverted(ckpt, { ...opts, dtype, rebuild: true });
        opened = await open();
      }
      for (const f of opened.fallbacks) opts.log?.(`execution provider skipped: ${f}`);
      // A GPU provider that fails at run time: say so, reopen on the CPU, and retry there.
      let engine: Engine | undefined;
      const onRunError = (modelPath: string) => async (e: unknown) => {
        if (!engine || engine.ep === "cpu") return undefined;
        const why =
          `${engine.ep}: failed at run time: ` +
          `${e instanceof Error ? e.message.split("\n")[0] : String(e)}`;
        opts.log?.(`execution provider ${why}; falling back to cpu`);
        engine.fallbacks.push(why);
        const cpu = await openSession(modelPath, {
          ep: "cpu",
          threads: opts.threads,
          ...opts.sessions,
        });
        engine.ep = cpu.ep;
        return cpu.session;
      };
      engine = new Engine(
        modelDir,
        ckpt.config,
        modelIdentity(modelDir, converted.manifest.fingerprint, ckpt.config),
        tokenizer,
        new MonetRunner(
          opened.session,
          ckpt.config,
          onRunError(converted.modelPath),
          converted.manifest.dtype,
          prefillChunkFor(opened.ep, ckpt.parameterCount()),
        ),
        opened.ep,
        opened.fallbacks,
        converted.dir,
      );
      engine.log = opts.log;
      engine.profiling = Boolean(opts.profilePrefix);
      engine.float32Runner = async () => {
        const again = await openModelFolder(modelDir);
        try {
          const f32 = await ensureConverted(again.checkpoint, { ...opts, dtype: "float32" });
          const s = await openSession(f32.modelPath, {
            ep: engine!.ep,
            threads: opts.threads,
            ...opts.sessions,
          });
          return new MonetRunner(
            s.session,
            again.checkpoint.config,
            onRunError(f32.modelPath),
            "float32",
            prefillChunkFor(s.ep, again.checkpoint.parameterCount()),
          );
        } finally {
          await again.checkpoint.close();
        }
      };
      return engine;
    } finally {
      await ckpt.close();
    }
  }

  get routingGroups(): number {
    return this.identity.config.routingGroups;
  }

  /**
   * Runs `task` on the current graph; when a float16 graph overflows (NonFiniteOutputError),
   * switches to the float32 graph (converted once, then cached), says so in the log, and runs
   * `task` again there from an empty cache.
   */
  private async orFloat32<T>(task: () => Promise<T>): Promise<T> {
    try {
      return await task();
    } catch (e) {
      if (!(e instanceof NonFiniteOutputError) || !this.float32Runner) throw e;
      this.log?.(`${e.message}; switching to the float32 graph and running the request again`);
      const open = this.float32Runner;
      this.float32Runner = undefined;
      const old = this.runner;
      this.runner = await open();
      this.slot = { cache: undefined, steeringKey: "" };
      this.fallbacks.push(`float16: non-finite logits, now float32`);
      await old.session.release();
      return task();
    }
  }

  /** The precision of the graph running now (float16 switches to float32 after an overflow). */
  get dtype(): GraphDtype {
    return this.runner.dtype;
  }

  /** Runs `task` after every earlier request: the engine does one thing at a time. */
  private exclusive<T>(task: () => Promise<T>): Promise<T> {
    const run = this.queue.then(task, task);
    this.queue = run.catch(() => undefined);
    return run;
  }

  generate(prompt: string, opts: GenerateOptions): Promise<GenerateResult> {
    return this.generateIds(this.tokenizer.encode(prompt), opts);
  }

  generateIds(promptIds: readonly number[], opts: GenerateOptions): Promise<GenerateResult> {
    return this.exclusive(async () => {
      const st = this.stats;
      st.maxRunning = Math.max(st.maxRunning, ++st.running);
      try {
        let streamed = 0; // characters given to onText, by this attempt or an overflowed one
        const result = await this.orFloat32(() => {
          let seen = 0;
          const onText = opts.onText;
          return generate(this.runner, this.tokenizer, promptIds, this.slot, {
            ...opts,
            // A rerun after a float16 overflow does not show again what was already shown.
            onText:
              onText &&
              ((t) => {
                const from = Math.max(0, streamed - seen);
                seen += t.length;
                if (from < t.length) {
                  onText(t.slice(from));
                  streamed += t.length - from;
                }
              }),
          });
        });
        if (result.stopReason === "cancelled") st.cancelled++;
        return result;
      } finally {
        st.running--;
        st.generations++;
      }
    });
  }

  /** Logits for every position of `ids` (BOS included by the caller), [T, vocab]. */
  logits(ids: readonly number[], steering?: Steering): Promise<Float32Array> {
    return this.exclusive(async () => {
      return (
        await this.orFloat32(() =>
          this.runner.forward({
            ids,
            cache: KvCache.empty(this.runner.cacheShape()),
            steering,
            numLogits: ids.length,
          }),
        )
      ).logits;
    });
  }

  /**
   * The next-token logits after `prompt` (text, encoded as generate() encodes it, or ids),
   * vocabulary-sized: one forward pass from an empty cache, so that it is exact whatever ran
   * before (the expert card's "effect here" compares two of these).
   */
  nextLogits(prompt: string | readonly number[], steering?: Steering): Promise<Float32Array> {
    return this.exclusive(async () => {
      const ids = typeof prompt === "string" ? this.tokenizer.encode(prompt) : prompt;
      if (ids.length === 0) throw new Error("the prompt has no tokens");
      if (ids.length >= this.config.maxPositionEmbeddings)
        throw new Error(
          `the prompt has ${ids.length} tokens; the model takes at most ${this.config.maxPositionEmbeddings - 1}`,
        );
      return (
        await this.orFloat32(() =>
          this.runner.forward({
            ids,
            cache: KvCache.empty(this.runner.cacheShape()),
            steering,
            numLogits: 1,
          }),
        )
      ).logits;
    });
  }

  /**
   * log p(ids[t] | ids[:t]) for t = from … T−1 under `steering`: one forward pass that keeps
   * only the logits it needs (the A/B view's per-token log-probabilities of a continuation).
   */
  tokenLogprobs(ids: readonly number[], from: number, steering?: Steering): Promise<number[]> {
    return this.exclusive(async () => {
      if (!Number.isInteger(from) || from < 1 || from >= ids.length)
        throw new RangeError(`score: from must be in [1, ${ids.length}), not ${from}`);
      const limit = this.config.maxPositionEmbeddings;
      if (ids.length > limit)
        throw new Error(`the text has ${ids.length} tokens; the model reads at most ${limit} at once`);
      const n = ids.length - from;
      const { logits } = await this.runner.forward({
        ids,
        cache: KvCache.empty(this.runner.cacheShape()),
        steering,
        numLogits: n + 1,
      });
      const V = this.config.vocabSize;
      return Array.from({ length: n }, (_, k) =>
        logSoftmaxAt(logits.subarray(k * V, (k + 1) * V), ids[from + k]!),
      );
    });
  }

  /** Token-by-token routing of `text` (tokenised with BOS, which is dropped from the result). */
  route(text: string, steering?: Steering): Promise<RoutedText> {
    return this.exclusive(async () => {
      const enc = this.tokenizer.encodeWithSpans(text);
      const limit = this.config.maxPositionEmbeddings;
      if (enc.ids.length > limit)
        throw new Error(`the text has ${enc.ids.length} tokens; the model reads at most ${limit} at once`);
      const out = await this.orFloat32(() =>
        this.runner.forward({
          ids: enc.ids,
          cache: KvCache.empty(this.runner.cacheShape()),
          steering,
          routing: true,
        }),
      );
      return {
        ids: enc.ids,
        spans: enc.spans,
        pieces: enc.ids.map((id) => this.tokenizer.idToPiece(id)),
        routing: out.routing!,
        shape: {
          tokens: enc.ids.length,
          heads: this.config.moeHeads,
          experts: this.config.moeExperts,
          groups: this.routingGroups,
        },
      };
    });
  }

  /**
   * Forgets the cached tokens (e.g. to measure a cold prefill), keeping the cache's buffers
   * for the next request (see generate.ts).
   */
  resetCache(): void {
    this.slot = { cache: this.slot.cache?.truncate(0), steeringKey: "" };
  }

  async close(): Promise<void> {
    await this.queue;
    if (this.profiling) this.runner.session.endProfiling();
    await this.runner.session.release();
  }
}

/** log softmax(row)[target], computed stably. */
export function logSoftmaxAt(row: Float32Array, target: number): number {
  let max = -Infinity;
  for (let v = 0; v < row.length; v++) if (row[v]! > max) max = row[v]!;
  let z = 0;
  for (let v = 0; v < row.length; v++) z += Math.exp(row[v]! - max);
  return row[target]! - max - Math.log(z);
}
