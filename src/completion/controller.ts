// The completion controller: from a request (text around the cursor) to a suggestion,
// without VS Code. Per request: the structure rule and the prompt window, then
//   1. the suggestion cache (an exact hit, or the rest of a suggestion being typed through);
//   2. the generation in flight, when its prompt plus what it has produced so far already
//      covers what the user typed since (no new request);
//   3. otherwise the stale generation is cancelled inside the engine, and after the
//      debounce (automatic triggers only) a new one starts.
// One generation runs at a time. A generation nobody waits for any more (the editor
// cancelled and did not ask again) is cancelled shortly after, so the engine does not
// keep working for nothing.
import { CancelledError } from "../engine/errors";
import type { GenerateResult } from "../engine/generate";
import type { GenerateParams } from "../engine/protocol";
import { type Steering, steeringToWire } from "../engine/steering";
import type { StructureRule } from "../engine/structure-stop";
import { dedupeAgainstSuffix } from "./dedupe";
import { PromptWindows, type PromptTokenizer } from "./prompt";
import { cursorLine, suffixAllowsCompletion, type CompletionRequest, type CursorLine } from "./request";
import { finishCompletion, structureRuleFor } from "./stop-rules";
import { SuggestionCache } from "./suggestion-cache";

/** What the controller needs from the engine (EngineClient has it). */
export interface CompletionEngine {
  generate(
    params: GenerateParams,
    hooks?: { signal?: AbortSignal; onText?: (text: string) => void },
  ): Promise<GenerateResult>;
}

export interface CompletionModel {
  /** Identifies the model: one model's suggestions are never shown for another's. */
  key: string;
  tokenizer: PromptTokenizer;
  /** The model's context length in tokens. */
  maxPositions: number;
}

export interface CompletionSettings {
  maxTokens: number;
  temperature: number;
  topP: number;
  timeLimitMs: number;
  debounceMs: number;
  /** Token budget of the prompt. */
  contextTokens: number;
}

export interface ControllerDeps {
  engine: CompletionEngine;
  model(): Promise<CompletionModel>;
  /** The steering completions run under now (undefined: none). */
  steering(): Promise<Steering | undefined> | Steering | undefined;
  settings(): CompletionSettings;
  onEvent?(event: CompletionEvent): void;
  /** Milliseconds (performance.now() by default). */
  now?(): number;
  /** How long a generation nobody waits for may run on before it is cancelled. */
  orphanMs?: number;
}

export type SuggestionSource = "engine" | "cache" | "in-flight";

export interface Suggestion {
  /** Text to insert at the cursor. */
  text: string;
  source: SuggestionSource;
  /** From the request to the suggestion. */
  latencyMs: number;
  /** The engine's figures when this request generated it. */
  result?: GenerateResult;
}

export type CompletionEvent =
  | { type: "generating"; promptChars: number; steering: string }
  | { type: "generated"; result: GenerateResult; completion: string }
  | { type: "failed"; error: Error }
  | { type: "shown"; suggestion: Suggestion }
  | { type: "skipped"; reason: string };

interface Outcome {
  completion: string;
  result: GenerateResult;
}

interface Flight {
  key: string;
  prompt: string;
  abort: AbortController;
  streamed: string;
  waiters: number;
  finished: boolean;
  orphanTimer?: ReturnType<typeof setTimeout>;
  done: Promise<Outcome | undefined>;
}

export class CompletionController {
  private readonly cache = new SuggestionCache();
  private readonly windows = new PromptWindows();
  private flight: Flight | undefined;
  private seq = 0;
  private readonly now: () => number;

  constructor(private readonly deps: ControllerDeps) {
    this.now = deps.now ?? (() => performance.now());
  }

  /** A suggestion for `req`, or undefined (cancelled, superseded, nothing to suggest). */
  async provide(req: CompletionRequest, signal?: AbortSignal): Promise<Suggestion | undefined> {
    const started = this.now();
    const seq = ++this.seq;
    const stale = () => signal?.aborted === true || seq !== this.seq;
    const line = cursorLine(req);
    if (!req.manual && !suffixAllowsCompletion(line.suffix))
      return this.skip("code after the cursor on its line");

    let model: CompletionModel;
    let steering: Steering | undefined;
    try {
      [model, steering] = await Promise.all([this.deps.model(), this.deps.steering()]);
    } catch (e) {
      this.emit({ type: "failed", error: asError(e) });
      return undefined;
    }
    if (stale()) return undefined;
    const s = this.deps.settings();
    const rule = structureRuleFor(line, req.tabSize);
    const budget = Math.max(2, Math.min(s.contextTokens, model.maxPositions - s.maxTokens - 1));
    const prompt = this.windows.window(
      req.docKey,
      req.textBefore,
      req.beforeStart,
      budget,
      model.tokenizer,
    ).text;
    // The structure rule is not part of the key: it follows from the prompt.
    const key = `${model.key}|${steering?.key ?? ""}|${s.maxTokens}|${s.temperature}|${s.topP}`;

    const cached = this.cache.get(key, prompt);
    if (cached) return this.show(cached.text, req, line, started, "cache");

    let debounce = !req.manual && s.debounceMs > 0;
    const current = this.flight;
    if (
      current &&
      !current.finished &&
      current.key === key &&
      prompt.startsWith(current.prompt) &&
      current.streamed.startsWith(prompt.slice(current.prompt.length))
    ) {
      const out = await this.wait(current, signal);
      if (stale()) return undefined;
      const hit = out && this.cache.get(key, prompt);
      if (hit) return this.show(hit.text, req, line, started, "in-flight", out.result);
      debounce = false; // it ended before covering what was typed: ask now, the pause is over
    }
    this.flight?.abort.abort();

    if (debounce) {
      await sleep(s.debounceMs, signal);
      if (stale()) return undefined;
    }
    const flight = this.launch(key, prompt, rule, steering, s);
    const out = await this.wait(flight, signal);
    if (!out || stale()) return undefined;
    return this.show(out.completion, req, line, started, "engine", out.result);
  }

  /** Cancels the generation in flight and forgets cached suggestions (model or settings changed). */
  reset(): void {
    this.flight?.abort.abort();
    this.cache.clear();
    this.windows.forget();
  }

  /** Cancels the generation in flight, if any. */
  cancel(): void {
    this.flight?.abort.abort();
  }

  get busy(): boolean {
    return this.flight !== undefined && !this.flight.finished;
  }

  private launch(
    key: string,
    prompt: string,
    rule: StructureRule,
    steering: Steering | undefined,
    s: CompletionSettings,
  ): Flight {
    const abort = new AbortController();
    const flight: Flight = {
      key,
      prompt,
      abort,
      streamed: "",
      waiters: 0,
      finished: false,
      done: Promise.resolve(undefined),
    };
    this.flight = flight;
    this.emit({ type: "generating", promptChars: prompt.length, steering: steering?.label ?? "" });
    const params: GenerateParams = {
      prompt,
      maxTokens: s.maxTokens,
      temperature: s.temperature,
      topP: s.topP,
      seed: 0,
      timeLimitMs: s.timeLimitMs,
      structure: rule,
      steering: steeringToWire(steering),
    };
    flight.done = this.deps.engine
      .generate(params, { signal: abort.signal, onText: (t) => (flight.streamed += t) })
      .then(
        (result): Outcome | undefined => {
          if (result.stopReason === "cancelled") return undefined;
          const completion = finishCompletion(result.text, result.stopReason, rule);
          this.cache.put(key, prompt, completion);
          this.emit({ type: "generated", result, completion });
          return { completion, result };
        },
        (e: unknown) => {
          if (!(e instanceof CancelledError)) this.emit({ type: "failed", error: asError(e) });
          return undefined;
        },
      )
      .finally(() => {
        flight.finished = true;
        clearTimeout(flight.orphanTimer);
        if (this.flight === flight) this.flight = undefined;
      });
    return flight;
  }

  /** The flight's outcome, or undefined as soon as `signal` aborts (the flight goes on). */
  private async wait(flight: Flight, signal?: AbortSignal): Promise<Outcome | undefined> {
    if (signal?.aborted) return undefined;
    flight.waiters++;
    clearTimeout(flight.orphanTimer);
    let onAbort: (() => void) | undefined;
    const aborted = new Promise<undefined>((resolve) => {
      onAbort = () => resolve(undefined);
      signal?.addEventListener("abort", onAbort, { once: true });
    });
    try {
      return await Promise.race([flight.done, aborted]);
    } finally {
      if (onAbort) signal?.removeEventListener("abort", onAbort);
      if (--flight.waiters === 0 && !flight.finished) {
        flight.orphanTimer = setTimeout(() => {
          if (flight.waiters === 0) flight.abort.abort();
        }, this.deps.orphanMs ?? 300);
      }
    }
  }

  private show(
    text: string,
    req: CompletionRequest,
    line: CursorLine,
    started: number,
    source: SuggestionSource,
    result?: GenerateResult,
  ): Suggestion | undefined {
    if (text === "") return this.skip("the model has nothing to add here");
    const deduped = dedupeAgainstSuffix(text, line, req.textAfter);
    if (deduped === undefined) return this.skip("the suggestion repeats the code after the cursor");
    const suggestion: Suggestion = { text: deduped, source, latencyMs: this.now() - started, result };
    this.emit({ type: "shown", suggestion });
    return suggestion;
  }

  private skip(reason: string): undefined {
    this.emit({ type: "skipped", reason });
    return undefined;
  }

  private emit(e: CompletionEvent): void {
    try {
      this.deps.onEvent?.(e);
    } catch {
      // a listener's failure must not break completion
    }
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
  });
}

function asError(e: unknown): Error {
  return e instanceof Error ? e : new Error(String(e));
}
