// The generation loop: prefill (reusing the cached prefix), then decode token by token
// with sampling, streaming text as soon as it is whole, until a stop rule fires.
import type { SentencePieceTokenizer } from "../tokenizer/tokenizer";
import { KvCache } from "./kv-cache";
import type { MonetRunner } from "./runner";
import { Sampler } from "./sampler";
import type { Steering } from "./steering";

export type StopReason =
  | "eos"
  | "stop-token"
  | "stop-string"
  | "structure"
  | "max-tokens"
  | "time-limit"
  | "context-full"
  | "cancelled";

export interface GenerateOptions {
  maxTokens: number;
  /** 0 = greedy. */
  temperature?: number;
  topP?: number;
  seed?: number;
  stopTokens?: readonly number[];
  /** Keep going past end-of-sequence (benchmarks). */
  ignoreEos?: boolean;
  /** Generation stops before the first occurrence of any of these in the generated text. */
  stopStrings?: readonly string[];
  /** Wall-clock budget for the decode loop, in ms. */
  timeLimitMs?: number;
  signal?: AbortSignal;
  /** Polled between tokens, like `signal` (the engine process: was a cancel message received?). */
  cancelled?: () => boolean;
  /** Scaled or masked experts (default: none). */
  steering?: Steering;
  /** Receives each piece of text as soon as it is final. */
  onText?: (text: string) => void;
  /**
   * Called after each token with the text so far; return true to stop there (the editor's
   * code-structure rules use this).
   */
  shouldStop?: (textSoFar: string) => boolean;
}

export interface GenerateResult {
  text: string;
  /** Generated token ids (not the prompt's). */
  ids: number[];
  promptTokens: number;
  /** Prompt tokens whose keys/values came from the cache. */
  reusedTokens: number;
  prefillMs: number;
  decodeMs: number;
  decodeTokensPerS: number;
  stopReason: StopReason;
}

/**
 * New tokens the KV cache is sized for from the prefill on (a completion's default is 64). A
 * longer generation that runs past them grows the cache by doubling; one that asks for thousands
 * and stops early does not hold room for all of them (0.4 MB a position for the 1.4B).
 */
const RESERVED_NEW_TOKENS = 256;

/** Where the cache for the next request lives, and under which steering (its key) it was made. */
export interface CacheSlot {
  cache: KvCache | undefined;
  steeringKey: string;
}

export async function generate(
  runner: MonetRunner,
  tokenizer: SentencePieceTokenizer,
  promptIds: readonly number[],
  slot: CacheSlot,
  opts: GenerateOptions,
): Promise<GenerateResult> {
  const c = runner.config;
  const shape = runner.cacheShape();
  const steeringKey = opts.steering?.key ?? "";
  if (promptIds.length === 0) throw new Error("the prompt has no tokens");
  if (promptIds.length >= c.maxPositionEmbeddings)
    throw new Error(
      `the prompt has ${promptIds.length} tokens; the model takes at most ${c.maxPositionEmbeddings - 1}`,
    );

  // Cancelled while it waited for the engine (superseded by a newer request, e.g. the next
  // keystroke): no forward pass at all, or typing would pile up prefills nobody wants.
  if (opts.signal?.aborted || opts.cancelled?.()) {
    return {
      text: "",
      ids: [],
      promptTokens: promptIds.length,
      reusedTokens: 0,
      prefillMs: 0,
      decodeMs: 0,
      decodeTokensPerS: 0,
      stopReason: "cancelled",
    };
  }

  // Reuse the cached prefix computed under the same steering; keep at least one new token.
  // Under another steering no position is reusable, but the buffers are (truncate(0) keeps a
  // padded cache's room): a new allocation would leave the old one to the garbage collector,
  // hundreds of megabytes for the 1.4B, held until it runs.
  let cache = slot.cache
    ? slot.steeringKey === steeringKey
      ? slot.cache
      : slot.cache.truncate(0)
    : KvCache.empty(shape);
  const reuse = Math.min(cache.commonPrefix(promptIds), promptIds.length - 1);
  cache = cache.truncate(reuse);

  // Every end-of-sequence id of config.json and generation_config.json (a list in some published files).
  const eos = new Set(c.eosTokenIds);
  const stopTokens = new Set([...(opts.ignoreEos ? [] : eos), ...(opts.stopTokens ?? [])]);
  const sampler = new Sampler({
    temperature: opts.temperature ?? 0,
    topP: opts.topP ?? 1,
    seed: opts.seed ?? 0,
  });
  const decoder = tokenizer.createStreamDecoder({ stripLeadingSpace: false });
  const ids: number[] = [];
  let text = "";
  let emitted = 0;
  let stopReason: StopReason = "max-tokens";

  const t0 = performance.now();
  let step = await runner.forward({
    ids: promptIds.slice(reuse),
    cache,
    steering: opts.steering,
    reserve: promptIds.length + Math.min(opts.maxTokens, RESERVED_NEW_TOKENS),
  });
  const prefillMs = performance.now() - t0;
  slot.cache = step.cache;
  slot.steeringKey = steeringKey;
  const t1 = performance.now();

  // Text is held back while it could still be the start of a stop string.
  const holdBack = (s: string) => {
    let keep = 0;
    for (const stop of opts.stopStrings ?? [])
      for (let k = Math.min(stop.length - 1, s.length); k > keep; k--)
        if (stop.startsWith(s.slice(s.length - k))) keep = k;
    return keep;
  };

  while (ids.length < opts.maxTokens) {
    if (opts.signal?.aborted || opts.cancelled?.()) {
      stopReason = "cancelled";
      break;
    }
    // Embedding rows past the tokenizer's pieces (padding) are never sampled.
    const token = sampler.next(
      step.logits.length > tokenizer.vocabSize ? step.logits.subarray(0, tokenizer.vocabSize) : step.logits,
    );
    if (stopTokens.has(token)) {
      stopReason = eos.has(token) && !opts.ignoreEos ? "eos" : "stop-token";
      break;
    }
    ids.push(token);
    text += decoder.push(token);
    const hit = firstStop(text, opts.stopStrings);
    if (hit >= 0) {
      text = text.slice(0, hit);
      stopReason = "stop-string";
      break;
    }
    const safe = text.length - holdBack(text);
    if (safe > emitted) {
      opts.onText?.(text.slice(emitted, safe));
      emitted = safe;
    }
    if (opts.shouldStop?.(text)) {
      stopReason = "structure";
      break;
    }
    if (ids.length >= opts.maxTokens) break;
    if (opts.timeLimitMs !== undefined && performance.now() - t1 > opts.timeLimitMs) {
      stopReason = "time-limit";
      break;
    }
    if (step.cache.length + 1 >= c.maxPositionEmbeddings) {
      stopReason = "context-full";
      break;
    }
    step = await runner.forward({ ids: [token], cache: step.cache, steering: opts.steering });
    slot.cache = step.cache;
  }
  if (stopReason !== "stop-string" && stopReason !== "structure") {
    text += decoder.flush();
    const hit = firstStop(text, opts.stopStrings);
    if (hit >= 0) {
      text = text.slice(0, hit);
      stopReason = "stop-string";
    }
  }
  if (text.length > emitted) opts.onText?.(text.slice(emitted));
  const decodeMs = performance.now() - t1;
  const steps = Math.max(0, ids.length - 1); // forward passes after the prefill
  return {
    text,
    ids,
    promptTokens: promptIds.length,
    reusedTokens: reuse,
    prefillMs,
    decodeMs,
    decodeTokensPerS: steps > 0 ? (steps * 1000) / decodeMs : 0,
    stopReason,
  };
}

function firstStop(text: string, stops: readonly string[] | undefined): number {
  let best = -1;
  for (const s of stops ?? []) {
    if (!s) continue;
    const i = text.indexOf(s);
    if (i >= 0 && (best < 0 || i < best)) best = i;
  }
  return best;
}
