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
import { MonetRunner, type Routing } from "./runner";
import { openSession, plannedProvider, type SessionOptions } from "./session";
import type { Steering } from "./steering";

/** The graph's precision: auto = float32 on the CPU, float16 on GPUs. */
export const DTYPE_CHOICES = ["auto", "float32", "float16"] as const;
export type DtypeChoice = (typeof DTYPE_CHOICES)[number];

export interface EngineOptions extends Omit<StoreOptions, "dtype"> {
  /** Checkpoint folder; default the embedded demo model. */
  modelDir?: string;
  ep?: EpPreference;
  threads?: number;
  /** Weights and activations: float32 on the CPU and float16 on GPUs unless chosen here. */
  dtype?: DtypeChoice;
  /** Tests: a session factory and provider probes (e.g. a GPU provider that fails). */
  sessions?: Pick<SessionOptions, "create" | "probes">;
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
  readonly stats: EngineStats = { generations: 0, cancelled: 0, running: 0, maxRunning: 0 };
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(
    readonly modelDir: string,
    readonly config: MonetConfig,
    /** The model's name, fingerprint and configuration summary, computed once at open. */
    readonly identity: ModelIdentity,
    readonly tokenizer: SentencePieceTokenizer,
    private readonly runner: MonetRunner,
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
          : plannedProvider(opts.ep ?? "auto", opts.sessions?.probes) === "cpu"
            ? "float32"
            : "float16";
      const converted = await ensureConverted(ckpt, { ...opts, dtype });
      const opened = await openSession(converted.modelPath, {
        ep: opts.ep ?? "auto",
        threads: opts.threads,
        ...opts.sessions,
      });
      for (const f of opened.fallbacks) opts.log?.(`execution provider skipped: ${f}`);
      // A GPU provider that fails at run time: say so, reopen on the CPU, and retry there.
      let engine: Engine | undefined;
      const onRunError = async (e: unknown) => {
        if (!engine || engine.ep === "cpu") return undefined;
        const why =
          `${engine.ep}: failed at run time: ` +
          `${e instanceof Error ? e.message.split("\n")[0] : String(e)}`;
        opts.log?.(`execution provider ${why}; falling back to cpu`);
        engine.fallbacks.push(why);
        const cpu = await openSession(converted.modelPath, {
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
        new MonetRunner(opened.session, ckpt.config, onRunError, converted.manifest.dtype),
        opened.ep,
        opened.fallbacks,
        converted.dir,
      );
      return engine;
    } finally {
      await ckpt.close();
    }
  }

  get routingGroups(): number {
    return this.identity.config.routingGroups;
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
        const result = await generate(this.runner, this.tokenizer, promptIds, this.slot, opts);
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
        await this.runner.forward({
          ids,
          cache: KvCache.empty(this.runner.cacheShape()),
          steering,
          numLogits: ids.length,
        })
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
      const out = await this.runner.forward({
        ids: enc.ids,
        cache: KvCache.empty(this.runner.cacheShape()),
        steering,
        routing: true,
      });
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

  /** Drops the cached keys and values (e.g. to measure a cold prefill). */
  resetCache(): void {
    this.slot = { cache: undefined, steeringKey: "" };
  }

  async close(): Promise<void> {
    await this.queue;
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
