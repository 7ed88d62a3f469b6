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
import { MonetRunner, type Routing } from "./runner";
import { GRAPH_DTYPES } from "../model/monet-graph";
import { autoDtype } from "./dtype";
import { openSession, plannedProvider, type SessionOptions } from "./session";
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
          : autoDtype(plannedProvider(opts.ep ?? "auto", opts.sessions?.probes), ckpt.parameterCount());
      let converted = await ensureConverted(ckpt, { ...opts, dtype });
      const open = () =>
        openSession(converted.modelPath, { ep: opts.ep ?? "auto", threads: opts.threads, ...opts.sessions });
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
        await this.runner.forward({
          ids,
          cache: KvCache.empty(this.runner.cacheShape()),
          steering,
          numLogits: 1,
        })
      ).logits;
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
