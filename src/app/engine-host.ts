// The engine as the extension sees it: one EngineClient (the model in a child process,
// off the extension host's thread), started lazily on the first request, restarted after a
// crash (at most `maxRestarts` times in a row, then a failed state that says why, until
// the user restarts it or changes the model), unloaded after an idle time to free (GPU)
// memory, and replaced when the model folder or the provider changes. A Hugging Face repo id
// in place of the folder resolves from the local cache at each start (no network), so a model
// downloaded meanwhile is found. No VS Code API here.
import type { CompletionEngine, CompletionModel } from "../completion/controller";
import { promptTokenizer } from "../completion/prompt";
import type { DtypeChoice, RoutedText } from "../engine/engine";
import { EngineClient, type ClientOptions } from "../engine/engine-client";
import { type HugePagesChoice, hugePagesForModel } from "../engine/huge-pages";
import { CancelledError, EngineCrashedError, EngineUnavailableError } from "../engine/errors";
import type { GenerateResult } from "../engine/generate";
import { loadTokenizer } from "../engine/model-folder";
import { abandonConversions, cacheDirFor } from "../engine/model-store";
import type { EngineInfo, GenerateParams } from "../engine/protocol";
import type { EpPreference } from "../engine/providers";
import { HubError } from "../hub/errors";
import { hubOffline } from "../hub/environment";
import { resolveModelRef } from "../hub/resolve";
import { type Steering, steeringToWire } from "../engine/steering";
import type { SentencePieceTokenizer } from "../tokenizer/tokenizer";
import { Emitter } from "./emitter";

export interface EngineSettings {
  /** A folder, or a Hugging Face repo id (`org/name[@revision]`) in the local cache; undefined = the embedded model. */
  modelDir: string | undefined;
  ep: EpPreference;
  /** The converted model's precision; auto: src/engine/dtype.ts picks it. */
  dtype: DtypeChoice;
  /** 0 = automatic. */
  threads: number;
  /** Transparent huge pages for the engine process; auto: for large models (src/engine/huge-pages.ts). */
  hugePages: HugePagesChoice;
  /** 0 = never. */
  idleUnloadMs: number;
}

export type EngineState =
  | { kind: "stopped" }
  | { kind: "loading"; progress?: { done: number; total: number; what: string } }
  | { kind: "ready"; info: EngineInfo }
  | { kind: "unloaded"; info: EngineInfo }
  | {
      kind: "failed";
      message: string;
      /** Set when the model is a repo id that is not in the Hugging Face cache (offer to download it). */
      missingModel?: string;
    };

/** The part of EngineClient used here (tests may give a fake). */
export type EngineClientLike = Pick<
  EngineClient,
  "start" | "generate" | "route" | "score" | "unload" | "close" | "kill" | "pid" | "info"
> &
  Partial<Pick<EngineClient, "nextLogits">>;

export interface EngineHostOptions {
  settings: EngineSettings;
  log: (line: string) => void;
  cacheDir?: string;
  maxRestarts?: number;
  createClient?: (opts: ClientOptions) => EngineClientLike;
  /** A model reference (folder or repo id) to its folder; throws HubError("not-cached") when absent. */
  resolveModel?: (ref: string) => string;
}

/** How the extension resolves a repo id: the local Hugging Face cache, and its own words for a missing one. */
export function resolveInCache(ref: string): string {
  return resolveModelRef(ref, {
    offline: hubOffline(),
    howToFetch: (r) => `download it with “Monet Lens: Download Model…” (or \`monet-lens pull ${r}\`)`,
  }).dir;
}

export class EngineHost implements CompletionEngine {
  private client: EngineClientLike | undefined;
  private settings: EngineSettings;
  private stateValue: EngineState = { kind: "stopped" };
  private readonly stateChanged = new Emitter<EngineState>();
  readonly onDidChangeState = this.stateChanged.event;
  private readonly busyChanged = new Emitter<boolean>();
  readonly onDidChangeBusy = this.busyChanged.event;
  private readonly crashed = new Emitter<string>();
  /** The engine process died during a request and restarts on the next one (a note for the user). */
  readonly onDidCrash = this.crashed.event;
  private active = 0;
  private crashesInARow = 0;
  private idleTimer: ReturnType<typeof setTimeout> | undefined;
  private tokenizerFor: { modelDir: string; tokenizer: Promise<SentencePieceTokenizer> } | undefined;
  private lastInfo: EngineInfo | undefined;
  private generation = 0;

  constructor(private readonly opts: EngineHostOptions) {
    this.settings = opts.settings;
  }

  get state(): EngineState {
    return this.stateValue;
  }

  /** The last started engine's description (kept while unloaded). */
  get info(): EngineInfo | undefined {
    return this.lastInfo;
  }

  get busy(): boolean {
    return this.active > 0;
  }

  /** New settings: a different model, provider, precision, thread count or huge pages replaces the engine (returns true then). */
  async configure(settings: EngineSettings): Promise<boolean> {
    const replace =
      settings.modelDir !== this.settings.modelDir ||
      settings.ep !== this.settings.ep ||
      settings.dtype !== this.settings.dtype ||
      settings.threads !== this.settings.threads ||
      settings.hugePages !== this.settings.hugePages;
    this.settings = settings;
    if (replace) await this.replaceClient();
    else this.armIdleTimer();
    return replace;
  }

  /** Starts the engine if needed (converting the model the first time). */
  async start(): Promise<EngineInfo> {
    if (this.stateValue.kind === "failed") throw new EngineUnavailableError(this.stateValue.message);
    if (!this.client) {
      try {
        this.client = this.newClient(this.settings.modelDir);
      } catch (e) {
        const msg = `the model could not be loaded: ${message(e)}`;
        const missing = e instanceof HubError && e.kind === "not-cached" ? this.settings.modelDir : undefined;
        this.fail(msg, missing);
        throw new EngineUnavailableError(msg);
      }
    }
    const client = this.client;
    if (this.stateValue.kind !== "ready") this.setState({ kind: "loading" });
    const generation = this.generation;
    try {
      const info = await client.start();
      if (generation === this.generation && this.client === client) {
        this.lastInfo = info;
        if (this.stateValue.kind !== "ready") this.setState({ kind: "ready", info });
      }
      return info;
    } catch (e) {
      if (generation !== this.generation || this.client !== client) throw e; // replaced meanwhile
      const failed = this.failedMessage();
      if (failed !== undefined) throw new EngineUnavailableError(failed); // e.g. cancelled meanwhile
      const msg = `the model could not be loaded: ${message(e)}`;
      this.fail(msg);
      throw new EngineUnavailableError(msg);
    }
  }

  async generate(
    params: GenerateParams,
    hooks: { signal?: AbortSignal; onText?: (text: string) => void } = {},
  ): Promise<GenerateResult> {
    return this.run(async (client) => client.generate(params, hooks));
  }

  async route(text: string, steering?: Steering): Promise<RoutedText> {
    return this.run(async (client) => client.route(text, steeringToWire(steering)));
  }

  /** The next-token logits after `prompt` under `steering` (an expert card's "effect here"). */
  async nextLogits(prompt: string, steering?: Steering): Promise<Float32Array> {
    return this.run(async (client) => {
      if (!client.nextLogits) throw new Error("this engine cannot give next-token logits");
      return client.nextLogits(prompt, steeringToWire(steering));
    });
  }

  /** log p of ids[from:] given the tokens before each, under `steering` (the A/B view). */
  async score(ids: number[], from: number, steering?: Steering): Promise<number[]> {
    return this.run(async (client) => client.score(ids, from, steeringToWire(steering)));
  }

  /** What completion needs to build prompts for the running model. */
  async model(): Promise<CompletionModel> {
    const info = this.lastInfo ?? (await this.start());
    return {
      key: `${info.modelDir}|${info.convertedDir}`,
      tokenizer: promptTokenizer(await this.tokenizer(info.modelDir)),
      maxPositions: info.config.maxPositionEmbeddings,
    };
  }

  /**
   * The running model's tokenizer, loaded in this process (token counts, pieces), read
   * without blocking; the engine has checked it against the model.
   */
  async tokenizer(modelDir = this.lastInfo?.modelDir): Promise<SentencePieceTokenizer> {
    if (!modelDir) throw new Error("no model has been loaded yet");
    if (this.tokenizerFor?.modelDir !== modelDir) {
      const tokenizer = loadTokenizer(modelDir);
      this.tokenizerFor = { modelDir, tokenizer };
      // A failed load is not kept: the next call tries again.
      tokenizer.catch(() => {
        if (this.tokenizerFor?.tokenizer === tokenizer) this.tokenizerFor = undefined;
      });
    }
    return this.tokenizerFor.tokenizer;
  }

  /**
   * Loads another model (a folder or a cached repo id; converting it, with progress) and
   * switches to it once it runs; on failure or cancellation the current engine stays as it was.
   */
  async switchModel(
    modelDir: string | undefined,
    hooks: { signal?: AbortSignal; onProgress?: (done: number, total: number, what: string) => void } = {},
  ): Promise<EngineInfo> {
    const candidate = this.newClient(modelDir, hooks.onProgress);
    const onAbort = () => this.killDuringConversion(candidate);
    hooks.signal?.addEventListener("abort", onAbort, { once: true });
    try {
      const info = await candidate.start();
      if (hooks.signal?.aborted) throw new CancelledError("cancelled");
      const old = this.client;
      this.generation++;
      this.client = candidate;
      this.settings = { ...this.settings, modelDir };
      this.lastInfo = info;
      this.crashesInARow = 0;
      this.setState({ kind: "ready", info });
      this.armIdleTimer();
      await old?.close();
      return info;
    } catch (e) {
      if (this.client !== candidate) await candidate.close().catch(() => undefined);
      if (hooks.signal?.aborted) throw new CancelledError("cancelled: the model was not changed");
      throw e;
    } finally {
      hooks.signal?.removeEventListener("abort", onAbort);
    }
  }

  /** Forgets a failure and starts afresh (the Restart command). */
  async restart(): Promise<EngineInfo> {
    await this.replaceClient();
    return this.start();
  }

  /** Ends the engine process (frees the model's memory); the next request loads it again. */
  async unload(): Promise<void> {
    clearTimeout(this.idleTimer);
    if (!this.client || this.stateValue.kind !== "ready") return;
    const info = this.stateValue.info;
    const client = this.client;
    await client.unload();
    // A request that came in meanwhile started a new engine process: it is not unloaded.
    if (
      this.active > 0 ||
      this.client !== client ||
      client.pid !== undefined ||
      this.stateValue.kind !== "ready"
    )
      return;
    this.setState({ kind: "unloaded", info });
    this.opts.log(`model unloaded to free memory; it loads again on the next request`);
  }

  /** Stops a start that is converting a model (the cancel button of the progress). */
  cancelStart(): void {
    if (this.stateValue.kind !== "loading" || !this.client) return;
    this.killDuringConversion(this.client);
    this.fail("loading was cancelled; run “Monet Lens: Restart Engine” or choose another model folder");
  }

  async dispose(): Promise<void> {
    clearTimeout(this.idleTimer);
    const client = this.client;
    this.client = undefined;
    this.stateChanged.dispose();
    this.busyChanged.dispose();
    this.crashed.dispose();
    await client?.close();
  }

  private async run<T>(task: (client: EngineClientLike) => Promise<T>): Promise<T> {
    await this.start();
    const client = this.client!;
    clearTimeout(this.idleTimer);
    if (this.active++ === 0) this.busyChanged.fire(true);
    try {
      const out = await task(client);
      this.crashesInARow = 0;
      return out;
    } catch (e) {
      if (e instanceof EngineCrashedError && client === this.client && this.stateValue.kind === "ready") {
        this.crashesInARow++;
        const limit = this.opts.maxRestarts ?? 3;
        if (this.crashesInARow > limit)
          this.fail(
            `the engine stopped ${this.crashesInARow} times in a row, so it is not restarted ` +
              `(last: ${message(e)}); see the Monet Lens log, then run “Monet Lens: Restart Engine”`,
          );
        else {
          this.opts.log(
            `engine stopped (${this.crashesInARow} of at most ${limit} restarts in a row): ${message(e)}`,
          );
          this.setState({ kind: "loading" });
          this.crashed.fire(message(e));
        }
      }
      throw e;
    } finally {
      if (--this.active === 0) {
        this.busyChanged.fire(false);
        this.armIdleTimer();
      }
    }
  }

  /** A run-time fallback moved the engine to another provider: the status must say where it runs now. */
  private providerChanged(info: EngineInfo): void {
    if (this.lastInfo?.modelDir !== info.modelDir) return;
    this.lastInfo = info;
    if (this.stateValue.kind === "ready") this.setState({ kind: "ready", info });
  }

  private newClient(
    modelDir: string | undefined,
    onProgress?: (done: number, total: number, what: string) => void,
  ): EngineClientLike {
    const s = this.settings;
    const create = this.opts.createClient ?? ((o: ClientOptions) => new EngineClient(o));
    const resolve = this.opts.resolveModel ?? resolveInCache;
    const dir = modelDir === undefined ? undefined : resolve(modelDir);
    return create({
      modelDir: dir,
      ep: s.ep,
      dtype: s.dtype,
      threads: s.threads > 0 ? s.threads : undefined,
      hugePages: hugePagesForModel(s.hugePages, dir),
      cacheDir: this.opts.cacheDir,
      maxRestarts: this.opts.maxRestarts ?? 3,
      log: this.opts.log,
      onProvider: (info) => this.providerChanged(info),
      onProgress: (done, total, what) => {
        onProgress?.(done, total, what);
        if (this.stateValue.kind === "loading")
          this.setState({ kind: "loading", progress: { done, total, what } });
      },
    });
  }

  private async replaceClient(): Promise<void> {
    clearTimeout(this.idleTimer);
    const old = this.client;
    this.generation++;
    this.client = undefined;
    this.lastInfo = undefined;
    this.crashesInARow = 0;
    this.setState({ kind: "stopped" });
    await old?.close();
  }

  private armIdleTimer(): void {
    clearTimeout(this.idleTimer);
    const ms = this.settings.idleUnloadMs;
    if (ms > 0 && this.active === 0 && this.stateValue.kind === "ready") {
      this.idleTimer = setTimeout(() => {
        if (this.active === 0)
          void this.unload().catch((e: unknown) => this.opts.log(`unloading failed: ${message(e)}`));
      }, ms);
      this.idleTimer.unref?.();
    }
  }

  /** Kills an engine that may be converting, and removes its half-written conversion. */
  private killDuringConversion(client: EngineClientLike): void {
    const pid = client.pid;
    client.kill();
    if (pid === undefined) return;
    const cacheDir = this.opts.cacheDir ?? cacheDirFor();
    setTimeout(() => abandonConversions(cacheDir, pid), 500).unref?.();
  }

  private failedMessage(): string | undefined {
    const s = this.stateValue;
    return s.kind === "failed" ? s.message : undefined;
  }

  private fail(msg: string, missingModel?: string): void {
    clearTimeout(this.idleTimer);
    this.opts.log(msg);
    this.setState({ kind: "failed", message: msg, ...(missingModel ? { missingModel } : {}) });
  }

  private setState(s: EngineState): void {
    this.stateValue = s;
    this.stateChanged.fire(s);
  }
}

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
