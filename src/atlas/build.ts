// Building an atlas: for each language of the corpus, run the model over (a budget of) its
// training files, accumulate each expert's routing mass, and apply the specialisation rule.
// Languages are processed one at a time, so memory holds one language's sums and each
// expert's two best languages (accumulate.ts, specialise.ts), whatever the language count.
import { RoutingAccumulator } from "./accumulate";
import type { Atlas, AtlasParams, LanguageStats, ModelIdentity } from "./atlas-file";
import { budgetOrder, byLanguage, DEFAULT_SPLIT, scanCorpus, splitFiles, type SplitRule } from "./corpus";
import { samplePieces } from "./sampling";
import { TopTwo } from "./specialise";
import type { RoutingArrays } from "./accumulate";
import { throwIfCancelled } from "../engine/errors";
import type { SentencePieceTokenizer } from "../tokenizer/tokenizer";

/** What the build needs from the engine (Engine satisfies it). */
export interface RoutingModel {
  readonly tokenizer: SentencePieceTokenizer;
  readonly routingGroups: number;
  readonly config: { moeHeads: number; moeExperts: number; maxPositionEmbeddings: number };
  route(text: string): Promise<{ ids: number[]; routing: RoutingArrays }>;
}

export interface BuildOptions {
  corpusDir: string;
  model: ModelIdentity;
  ratio?: number;
  /** Languages with fewer training tokens are left out (default 1024). */
  minTokens?: number;
  /** Tokens read per language at most (default 8192). */
  maxTokensPerLanguage?: number;
  segmentTokens?: number;
  split?: SplitRule;
  /** Only these languages (default: every language of the corpus). */
  languages?: readonly string[];
  signal?: AbortSignal;
  log?: (line: string) => void;
  /** After each forward pass: tokens done and planned over all languages. */
  onProgress?: (p: { language: string; done: number; total: number }) => void;
}

export const BUILD_DEFAULTS = {
  ratio: 2,
  minTokens: 1024,
  maxTokensPerLanguage: 8192,
  segmentTokens: 512,
} as const;

interface Planned {
  language: string;
  stats: LanguageStats;
  /** Texts of one forward pass each, BOS excluded from the budget. */
  pieces: string[];
  seen: string[];
}

export async function buildAtlas(engine: RoutingModel, opts: BuildOptions): Promise<Atlas> {
  const started = Date.now();
  const params: AtlasParams = {
    ratio: opts.ratio ?? BUILD_DEFAULTS.ratio,
    minTokens: opts.minTokens ?? BUILD_DEFAULTS.minTokens,
    maxTokensPerLanguage: opts.maxTokensPerLanguage ?? BUILD_DEFAULTS.maxTokensPerLanguage,
    segmentTokens: Math.min(
      opts.segmentTokens ?? BUILD_DEFAULTS.segmentTokens,
      engine.config.maxPositionEmbeddings - 16,
    ),
  };
  if (!(params.ratio >= 1)) throw new Error(`the ratio must be ≥ 1, got ${params.ratio}`);
  const split = opts.split ?? DEFAULT_SPLIT;
  const log = opts.log ?? (() => undefined);
  const scan = scanCorpus(opts.corpusDir);
  if (scan.skipped.length > 0) log(`skipped ${scan.skipped.length} files: ${summariseSkipped(scan.skipped)}`);
  const all = byLanguage(scan.files);
  if (opts.languages) {
    const missing = opts.languages.filter((l) => !all.has(l));
    if (missing.length > 0)
      throw new Error(
        `the corpus has no files for ${missing.join(", ")}; it has ` +
          `${[...all.keys()].join(", ") || "no source files"}`,
      );
  }
  const chosen = [...all].filter(([lang]) => !opts.languages || opts.languages.includes(lang));
  if (chosen.length === 0) throw new Error(`${opts.corpusDir}: no source files with a known extension`);

  // Plan: read and cut each language's training files up to the budget (cheap), so that
  // progress knows the total and short languages are dropped before any model time.
  const plans: Planned[] = [];
  const omitted: Record<string, string> = {};
  for (const [language, files] of chosen) {
    throwIfCancelled(opts.signal);
    const plan = planLanguage(engine.tokenizer, language, files, split, params);
    if (plan.stats.tokens < params.minTokens) {
      omitted[language] = `${plan.stats.tokens} training tokens, fewer than --min-tokens ${params.minTokens}`;
      log(`left out ${language}: ${omitted[language]}`);
      continue;
    }
    plans.push(plan);
  }
  if (plans.length === 0)
    throw new Error(`no language has --min-tokens ${params.minTokens} training tokens in ${opts.corpusDir}`);

  const groups = engine.routingGroups;
  const { moeHeads: H, moeExperts: E } = engine.config;
  const top = new TopTwo(groups, E * E);
  const total = plans.reduce((n, p) => n + p.stats.tokens, 0);
  let done = 0;
  const languages: Record<string, LanguageStats> = {};
  for (const plan of plans) {
    const acc = new RoutingAccumulator(groups, H, E);
    for (const piece of plan.pieces) {
      throwIfCancelled(opts.signal);
      const routed = await engine.route(piece);
      acc.add(routed.routing, 1); // position 0 is BOS, the same for every language
      done += routed.ids.length - 1;
      opts.onProgress?.({ language: plan.language, done, total });
    }
    plan.stats.tokens = acc.tokens;
    languages[plan.language] = plan.stats;
    top.offer(plan.language, acc.means());
  }
  const sets = top.specialised(params.ratio);
  const names = [...sets.keys()].sort();
  return {
    createdAt: new Date().toISOString(),
    model: opts.model,
    corpus: {
      root: opts.corpusDir,
      split,
      languages,
      omitted,
      skippedFiles: scan.skipped.length,
      seen: [...new Set(plans.flatMap((p) => p.seen))].sort(),
    },
    params,
    languages: names,
    sets: new Map(names.map((n) => [n, sets.get(n)!])),
    buildSeconds: Math.round((Date.now() - started) / 100) / 10,
  };
}

function planLanguage(
  tokenizer: SentencePieceTokenizer,
  language: string,
  files: Parameters<typeof splitFiles>[0],
  split: SplitRule,
  params: AtlasParams,
): Planned {
  const { train, heldOut } = splitFiles(files, split);
  const sample = samplePieces(
    tokenizer,
    budgetOrder(train),
    params.segmentTokens,
    params.maxTokensPerLanguage,
  );
  const stats: LanguageStats = {
    files: train.length,
    heldOutFiles: heldOut.length,
    filesRead: sample.used.length,
    tokens: sample.tokens,
    bytes: sample.used.reduce((n, u) => n + u.bytes, 0),
  };
  return { language, stats, pieces: sample.pieces.map((p) => p.text), seen: sample.used.map((u) => u.hash) };
}

function summariseSkipped(skipped: Array<{ reason: string }>): string {
  const counts = new Map<string, number>();
  for (const s of skipped) counts.set(s.reason, (counts.get(s.reason) ?? 0) + 1);
  return [...counts].map(([r, n]) => `${n} × ${r}`).join(", ");
}
