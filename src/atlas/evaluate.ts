// The paper's Table 3 for an atlas: cross-entropy per language on held-out files with no
// mask and with each language's experts masked, and the matrix of increases.
// Held-out files are those of the atlas's own split, minus any file whose content the
// atlas read (so a file copied into both parts still counts as seen).
import { throwIfCancelled } from "../engine/errors";
import type { Steering } from "../engine/steering";
import type { SentencePieceTokenizer } from "../tokenizer/tokenizer";
import type { Atlas } from "./atlas-file";
import { budgetOrder, byLanguage, scanCorpus, splitFiles } from "./corpus";
import { samplePieces } from "./sampling";
import { resolveSteering } from "./steering-selection";

/** What evaluation needs from the engine (Engine satisfies it). */
export interface LogitsModel {
  readonly tokenizer: SentencePieceTokenizer;
  readonly config: { vocabSize: number; maxPositionEmbeddings: number };
  logits(ids: readonly number[], steering?: Steering): Promise<Float32Array>;
}

export interface EvalOptions {
  corpusDir: string;
  atlas: Atlas;
  /** Evaluated languages (rows); default: the atlas's languages found in the corpus. */
  languages?: readonly string[];
  /** Masked languages (columns); default: the atlas's languages. */
  masks?: readonly string[];
  /**
   * The scale each column's language gets (default 0: masked); a language not listed here
   * is masked. With `masks` undefined, the columns are this record's keys when it is given.
   */
  scales?: Readonly<Record<string, number>>;
  maxTokensPerLanguage?: number;
  segmentTokens?: number;
  signal?: AbortSignal;
  log?: (line: string) => void;
  onProgress?: (p: { done: number; total: number; what: string }) => void;
}

export const EVAL_DEFAULTS = { maxTokensPerLanguage: 2048 } as const;

export interface EvalResult {
  /** Mean cross-entropy (nats per predicted token) without masks. */
  none: Record<string, number>;
  /** masked[maskedLanguage][evaluatedLanguage] (the column's language at its scale). */
  masked: Record<string, Record<string, number>>;
  /** Each column's scale (0: masked). */
  scales: Record<string, number>;
  /** Predicted tokens and held-out files read, per evaluated language. */
  tokens: Record<string, number>;
  files: Record<string, number>;
}

/** Held-out windows per evaluated language, tokenised once (evaluateAtlas and the steering sweep). */
export interface HeldOut {
  rows: string[];
  windows: Map<string, number[][]>;
  files: Record<string, number>;
}

export function heldOutWindows(
  model: Pick<LogitsModel, "tokenizer" | "config">,
  opts: Pick<
    EvalOptions,
    "corpusDir" | "atlas" | "languages" | "maxTokensPerLanguage" | "segmentTokens" | "log"
  >,
): HeldOut {
  const { atlas } = opts;
  const budget = opts.maxTokensPerLanguage ?? EVAL_DEFAULTS.maxTokensPerLanguage;
  const segmentTokens = Math.min(
    opts.segmentTokens ?? atlas.params.segmentTokens ?? 512,
    model.config.maxPositionEmbeddings - 16,
  );
  const seen = new Set(atlas.corpus.seen);
  const all = byLanguage(scanCorpus(opts.corpusDir).files);
  const rows = opts.languages ? [...opts.languages] : atlas.languages.filter((l) => all.has(l));
  const missing = rows.filter((l) => !all.has(l));
  if (missing.length > 0) throw new Error(`the corpus has no files for ${missing.join(", ")}`);
  if (rows.length === 0)
    throw new Error(
      `${opts.corpusDir} has no files in the atlas's languages (${atlas.languages.join(", ")})`,
    );
  const windows = new Map<string, number[][]>();
  const files: Record<string, number> = {};
  for (const lang of rows) {
    const { heldOut } = splitFiles(all.get(lang)!, atlas.corpus.split);
    let skippedSeen = 0;
    const sample = samplePieces(
      model.tokenizer,
      budgetOrder(heldOut),
      segmentTokens,
      budget,
      (hash) => seen.has(hash) && ++skippedSeen > 0,
    );
    const ws = sample.pieces.map((p) => model.tokenizer.encode(p.text)).filter((ids) => ids.length >= 2);
    files[lang] = sample.used.length;
    if (skippedSeen > 0)
      opts.log?.(`${lang}: ${skippedSeen} held-out files skipped because the atlas read the same content`);
    if (ws.length === 0)
      throw new Error(
        `${lang}: no held-out files the atlas has not seen (split: every ` +
          `${atlas.corpus.split.every}th file); use a corpus with more files`,
      );
    windows.set(lang, ws);
  }
  return { rows, windows, files };
}

/** Mean cross-entropy of one language's windows under `steering`, and the tokens predicted. */
export async function languageLoss(
  model: LogitsModel,
  windows: readonly number[][],
  steering: Steering | undefined,
  each?: () => void,
  signal?: AbortSignal,
): Promise<{ ce: number; tokens: number }> {
  let sum = 0;
  let n = 0;
  for (const ids of windows) {
    throwIfCancelled(signal);
    const logits = await model.logits(ids, steering?.key ? steering : undefined);
    const r = crossEntropySum(logits, ids, model.config.vocabSize);
    sum += r.sum;
    n += r.count;
    each?.();
  }
  return { ce: sum / n, tokens: n };
}

export async function evaluateAtlas(model: LogitsModel, opts: EvalOptions): Promise<EvalResult> {
  const { atlas } = opts;
  const cols = opts.masks ? [...opts.masks] : opts.scales ? Object.keys(opts.scales) : [...atlas.languages];
  const scales = Object.fromEntries(cols.map((l) => [l, opts.scales?.[l] ?? 0]));
  const steerings = new Map(
    cols.map((l) => [
      l,
      resolveSteering(atlas, { languages: { [l]: scales[l]! } }, { unknown: "reject" }).steering,
    ]),
  );
  const { rows, windows, files } = heldOutWindows(model, opts);

  const passes = [...windows.values()].reduce((n, ws) => n + ws.length, 0) * (1 + cols.length);
  let done = 0;
  const tokens: Record<string, number> = {};
  const run = async (steering: Steering | undefined, label: string): Promise<Record<string, number>> => {
    const out: Record<string, number> = {};
    for (const lang of rows) {
      const r = await languageLoss(
        model,
        windows.get(lang)!,
        steering,
        () => opts.onProgress?.({ done: ++done, total: passes, what: `${label}: ${lang}` }),
        opts.signal,
      );
      out[lang] = r.ce;
      tokens[lang] = r.tokens;
    }
    return out;
  };
  const none = await run(undefined, "no mask");
  const masked: EvalResult["masked"] = {};
  for (const col of cols)
    masked[col] = await run(
      steerings.get(col),
      scales[col] === 0 ? `${col} masked` : `${col}×${scales[col]}`,
    );
  return { none, masked, scales, tokens, files };
}

/** Σ over positions t < T−1 of −log softmax(logits[t])[ids[t+1]], and the count. */
export function crossEntropySum(
  logits: Float32Array,
  ids: readonly number[],
  vocab: number,
): { sum: number; count: number } {
  let sum = 0;
  for (let t = 0; t + 1 < ids.length; t++) {
    const row = logits.subarray(t * vocab, (t + 1) * vocab);
    let max = -Infinity;
    for (let v = 0; v < vocab; v++) if (row[v]! > max) max = row[v]!;
    let z = 0;
    for (let v = 0; v < vocab; v++) z += Math.exp(row[v]! - max);
    sum += max + Math.log(z) - row[ids[t + 1]!]!;
  }
  return { sum, count: Math.max(ids.length - 1, 0) };
}

export interface DeltaTable {
  /** Evaluated languages. */
  rows: string[];
  /** Masked languages. */
  cols: string[];
  /** delta[r][c] = CE(rows[r] | cols[c] masked) − CE(rows[r] | no mask). */
  delta: number[][];
  /** Per column: Δ of the masked language itself (NaN when it was not evaluated). */
  target: number[];
  /** Per column: mean Δ over the other evaluated languages. */
  others: number[];
  /** Per column: largest Δ over the other evaluated languages. */
  maxOther: number[];
}

export function deltaTable(r: Pick<EvalResult, "none" | "masked">): DeltaTable {
  const rows = Object.keys(r.none);
  const cols = Object.keys(r.masked);
  const delta = rows.map((row) => cols.map((col) => r.masked[col]![row]! - r.none[row]!));
  const target = cols.map((col, c) => {
    const ri = rows.indexOf(col);
    return ri < 0 ? NaN : delta[ri]![c]!;
  });
  const otherValues = (c: number) => rows.flatMap((row, ri) => (row === cols[c] ? [] : [delta[ri]![c]!]));
  const others = cols.map((_, c) => {
    const xs = otherValues(c);
    return xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN;
  });
  const maxOther = cols.map((_, c) => Math.max(...otherValues(c)));
  return { rows, cols, delta, target, others, maxOther };
}
