// The caller's side of the engine process: requests as promises, streamed text,
// cancellation that stops generation inside the engine (not just drops the result), and a
// restart when the process dies (at most `maxRestarts` times in a row, then a clear failure).
// A watchdog ends a process that stops beating or makes no progress (watchdog.ts), and every
// message from the process is validated (protocol-check.ts): a hung or broken engine fails
// its requests with a clear error and is restarted on the next request, like a crashed one.
import { fork, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import type { Readable } from "node:stream";
import type { RoutedText } from "./engine";
import { CancelledError, EngineCrashedError, EngineHungError, EngineProtocolError } from "./errors";
import type { GenerateResult } from "./generate";
import { HEARTBEAT_FD, HEARTBEAT_FD_ENV } from "./heartbeat";
import { withHugePages } from "./huge-pages";
import type { EngineInfo, GenerateParams, OpenParams, Request, Response, WorkerStats } from "./protocol";
import { HEARTBEAT_LINE_CHARS, parseHeartbeat, parseResponse } from "./protocol-check";
import type { SteeringWire } from "./steering";
import { Watchdog, type WatchdogOptions } from "./watchdog";

export interface ClientOptions extends OpenParams {
  log?: (line: string) => void;
  onProgress?: (done: number, total: number, what: string) => void;
  /** The engine moved to another execution provider after starting (a run-time fallback). */
  onProvider?: (info: EngineInfo) => void;
  maxRestarts?: number;
  /** Bounds of the watchdog (watchdog.ts WATCHDOG_DEFAULTS). */
  watchdog?: WatchdogOptions;
  /** Start the engine process with glibc's tunable for transparent huge pages (huge-pages.ts). */
  hugePages?: boolean;
  /** Tests: another engine script to fork (default: the engine's worker). */
  engineScript?: { script: string; execArgv: string[] };
}

interface Pending {
  resolve: (v: never) => void;
  reject: (e: Error) => void;
  onText?: (text: string) => void;
  /** The engine process the request went to: only its exit fails the request. */
  child: ChildProcess;
}

/**
 * V8 flags of the engine process. Its young generation is capped: under typing load V8 grew it
 * to its default maximum (16 MB semi-spaces, +17 MB of resident memory in a few minutes) for a
 * process whose JavaScript keeps a few MB alive between tokens (docs/load-test-rss.svg, README
 * "Typing load").
 */
export const ENGINE_V8_FLAGS: readonly string[] = ["--max-semi-space-size=4"];

/** The engine script: the bundled one next to dist/, or (tests) the TypeScript source via tsx. */
function workerEntry(): { script: string; execArgv: string[] } {
  const bundled = join(__dirname, "engine-worker.js");
  if (existsSync(bundled)) return { script: bundled, execArgv: [...ENGINE_V8_FLAGS] };
  const source = join(__dirname, "worker.ts");
  if (existsSync(source)) return { script: source, execArgv: [...ENGINE_V8_FLAGS, "--import", "tsx"] };
  throw new Error(`engine worker script not found next to ${__dirname}`);
}

export class EngineClient {
  private child: ChildProcess | undefined;
  private starting: Promise<EngineInfo> | undefined;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private crashes = 0;
  private closed = false;
  info: EngineInfo | undefined;

  constructor(private readonly opts: ClientOptions = {}) {}

  /** Starts the engine process and opens the model (every request calls it lazily). */
  start(): Promise<EngineInfo> {
    if (this.closed) return Promise.reject(new Error("the engine was closed"));
    this.starting ??= this.spawn().catch((e: unknown) => {
      this.starting = undefined;
      throw e;
    });
    return this.starting;
  }

  /** The engine process's id while it runs. */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  private async spawn(): Promise<EngineInfo> {
    const entry = this.opts.engineScript ?? workerEntry();
    // Inside VS Code, process.execPath is Electron: run it as plain Node. Its stdio 4 is the
    // heartbeat pipe.
    const child = fork(entry.script, [], {
      execArgv: entry.execArgv,
      serialization: "advanced",
      env: {
        ...(this.opts.hugePages ? withHugePages(process.env) : process.env),
        ELECTRON_RUN_AS_NODE: "1",
        [HEARTBEAT_FD_ENV]: String(HEARTBEAT_FD),
      },
      stdio: ["ignore", "ignore", "pipe", "ipc", "pipe"],
    });
    this.child = child;
    const watchdog = new Watchdog(this.opts.watchdog ?? {}, (why) =>
      this.endBroken(child, why, EngineHungError),
    );
    this.watchHeartbeat(child, watchdog);
    let stderr = "";
    child.stderr?.on("data", (d: Buffer) => (stderr = (stderr + d.toString()).slice(-2000)));
    child.on("message", (raw: unknown) => {
      const m = parseResponse(raw);
      if (m.ok) this.onMessage(m.value);
      else
        this.endBroken(
          child,
          `the engine process sent a malformed message (${m.error})`,
          EngineProtocolError,
        );
    });
    child.on("error", (e) => this.onExit(child, `the engine process failed: ${e.message}`));
    child.on("exit", (code, signal) => {
      watchdog.stop();
      const said = stderr.trim() ? `: ${stderr.trim().split("\n").slice(-3).join(" | ")}` : "";
      this.onExit(child, `the engine process stopped (${signal ?? `exit code ${code}`})${said}`);
    });
    const { modelDir, ep, dtype, cacheDir, threads } = this.opts;
    let info: EngineInfo;
    try {
      info = await this.request<EngineInfo>({
        type: "open",
        id: 0,
        params: { modelDir, ep, dtype, cacheDir, threads },
      });
    } catch (e) {
      // The model did not open (or the process died): end this process, so that the next
      // start does not leave it running beside a new one.
      if (this.child === child) this.child = undefined;
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
      throw e;
    }
    this.info = info;
    this.opts.log?.(
      `engine started: model ${info.modelDir}, ${info.dtype}, execution provider ` +
        `${info.ep}${info.fallbacks.length ? ` (skipped: ${info.fallbacks.join("; ")})` : ""}` +
        (this.opts.hugePages ? ", huge pages asked for (monetLens.hugePages)" : ""),
    );
    return info;
  }

  /** Feeds the heartbeat pipe's lines, each validated, to the watchdog. */
  private watchHeartbeat(child: ChildProcess, watchdog: Watchdog): void {
    const pipe = child.stdio[HEARTBEAT_FD] as Readable | null | undefined;
    let partial = "";
    pipe?.setEncoding("utf8");
    pipe?.on("data", (chunk: string) => {
      const lines = (partial + chunk).split("\n");
      partial = lines.pop()!;
      if (partial.length > HEARTBEAT_LINE_CHARS) lines.push(partial); // refused below, as too long
      for (const line of lines) {
        const beat = parseHeartbeat(line);
        if (!beat.ok) {
          watchdog.stop();
          return this.endBroken(
            child,
            `the engine process sent a malformed heartbeat (${beat.error})`,
            EngineProtocolError,
          );
        }
        watchdog.beat(beat.value);
      }
    });
    pipe?.on("error", () => undefined); // the process ended: its exit says so
  }

  /**
   * Ends an engine process that is hung or broken: says why (once), kills it, and fails its
   * requests; the next request starts another process (up to `maxRestarts` in a row).
   */
  private endBroken(
    child: ChildProcess,
    why: string,
    kind: new (message: string) => EngineCrashedError,
  ): void {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    if (this.child !== child) return; // already replaced, unloaded or ended
    this.child = undefined;
    this.starting = undefined;
    this.crashes++;
    this.opts.log?.(`${why}; it was ended`);
    this.failPending(child, new kind(`${why}; it was ended and restarts on the next request`));
  }

  private onExit(child: ChildProcess, why: string): void {
    const current = this.child === child;
    if (current) {
      this.child = undefined;
      this.starting = undefined;
    }
    // Requests to this process fail; those to a newer one (started meanwhile) go on.
    this.failPending(child, new EngineCrashedError(`${why}; it restarts on the next request`));
    if (!current || this.closed) return;
    this.crashes++;
    this.opts.log?.(why);
  }

  private failPending(child: ChildProcess, error: Error): void {
    for (const [id, p] of this.pending) {
      if (p.child !== child) continue;
      this.pending.delete(id);
      p.reject(error);
    }
  }

  private onMessage(m: Response): void {
    switch (m.type) {
      case "log":
        this.opts.log?.(m.line);
        return;
      case "progress":
        this.opts.onProgress?.(m.done, m.total, m.what);
        return;
      case "provider":
        if (!this.info) return;
        this.info = { ...this.info, ep: m.ep, dtype: m.dtype, fallbacks: m.fallbacks };
        this.opts.log?.(`engine now runs on ${m.ep} (${m.dtype})`);
        this.opts.onProvider?.(this.info);
        return;
      case "text":
        this.pending.get(m.id)?.onText?.(m.text);
        return;
    }
    if (m.type === "error" && m.id === 0) {
      // A request the engine refused before it could tell which it was (a bug on this side).
      this.opts.log?.(`the engine refused a message: ${m.message}`);
      return;
    }
    const p = this.pending.get(m.id);
    if (!p) return;
    this.pending.delete(m.id);
    if (m.type === "error") p.reject(new Error(m.message));
    else {
      if (m.type === "generated" || m.type === "routed" || m.type === "scored") this.crashes = 0;
      p.resolve(
        (m.type === "opened"
          ? m.info
          : m.type === "closed"
            ? undefined
            : m.type === "stats"
              ? m.stats
              : m.type === "logits"
                ? m.logits
                : m.result) as never,
      );
    }
  }

  private send(req: Request): void {
    this.child?.send(req);
  }

  private request<T>(req: Request, onText?: (text: string) => void): Promise<T> {
    const child = this.child;
    if (!child?.connected) return Promise.reject(new EngineCrashedError("the engine is not running"));
    const id = req.id || this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: never) => void, reject, onText, child });
      child.send({ ...req, id });
    });
  }

  private async ready(): Promise<void> {
    if (this.crashes > (this.opts.maxRestarts ?? 3)) {
      throw new EngineCrashedError(
        `the engine stopped ${this.crashes} times in a row; not restarting it (see the log for the causes)`,
      );
    }
    await this.start();
  }

  /** Generates a completion; `signal` stops the engine's loop between two tokens. */
  async generate(
    params: GenerateParams,
    hooks: { signal?: AbortSignal; onText?: (text: string) => void } = {},
  ): Promise<GenerateResult> {
    if (hooks.signal?.aborted) throw new CancelledError("cancelled before it started");
    await this.ready();
    // Cancelled while the engine started (the abort event has fired already: check the flag).
    if (hooks.signal?.aborted) throw new CancelledError("cancelled before it started");
    const id = this.nextId++;
    const onAbort = () => this.send({ type: "cancel", id: this.nextId++, target: id });
    hooks.signal?.addEventListener("abort", onAbort, { once: true });
    try {
      return await this.request<GenerateResult>({ type: "generate", id, params }, hooks.onText);
    } finally {
      hooks.signal?.removeEventListener("abort", onAbort);
    }
  }

  async route(text: string, steering?: SteeringWire): Promise<RoutedText> {
    await this.ready();
    return this.request<RoutedText>({ type: "route", id: 0, text, steering });
  }

  /** The next-token logits after `prompt` (text, or ids with BOS) under `steering` (vocabulary-sized). */
  async nextLogits(prompt: string | readonly number[], steering?: SteeringWire): Promise<Float32Array> {
    await this.ready();
    return this.request<Float32Array>(
      typeof prompt === "string"
        ? { type: "nextLogits", id: 0, prompt, steering }
        : { type: "nextLogits", id: 0, ids: [...prompt], steering },
    );
  }

  /** log p of ids[from:] given the tokens before each, under `steering`. */
  async score(ids: number[], from: number, steering?: SteeringWire): Promise<number[]> {
    await this.ready();
    return this.request<number[]>({ type: "score", id: 0, ids, from, steering });
  }

  /** The engine process's counters and memory (undefined when it is not running). */
  async stats(): Promise<WorkerStats | undefined> {
    if (!this.child?.connected) return undefined;
    return this.request<WorkerStats>({ type: "stats", id: 0 });
  }

  /** Ends the engine process (frees the model's memory); a later request starts it again. */
  async unload(): Promise<void> {
    const child = this.child;
    if (!child) return;
    this.child = undefined;
    this.starting = undefined;
    const exited = new Promise<void>((r) =>
      child.exitCode !== null || child.signalCode !== null ? r() : child.once("exit", () => r()),
    );
    if (child.connected) child.disconnect(); // the engine exits on disconnect
    const timer = setTimeout(() => child.kill("SIGKILL"), 3000);
    await exited;
    clearTimeout(timer);
    // Only this process's requests: one that came in meanwhile went to a new process.
    this.failPending(child, new EngineCrashedError("the engine was unloaded"));
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.unload();
  }

  /** Kills the engine process as a crash would (tests, and a stuck engine). */
  kill(): void {
    this.child?.kill("SIGKILL");
  }
}
