// Building an atlas: for each class of the corpus (programming languages, and control
// classes such as prose), run the model over (a budget of) its training files, accumulate
// each expert's routing mass, and apply the specialisation rule over all classes.
// Classes are processed one at a time, so memory holds one class's sums, each expert's two
// best classes (accumulate.ts, specialise.ts), the pooled sums for the baselines and, when
// kept, the expert statistics (a quantized profile per class and the top contexts).
import { RoutingAccumulator, type RoutingArrays } from "./accumulate";
import type { Atlas, AtlasParams, LanguageStats, ModelIdentity } from "./atlas-file";
import { classBaselines } from "./baselines";
import { budgetOrder, byLanguage, DEFAULT_SPLIT, scanCorpus, splitFiles, type SplitRule } from "./corpus";
import { ExpertStatsBuilder } from "./expert-stats";
import { CONTROL_CLASSES } from "./languages";
import { samplePieces, type Piece } from "./sampling";
import { TopTwo } from "./specialise";
import { throwIfCancelled } from "../engine/errors";
import type { SentencePieceTokenizer } from "../tokenizer/tokenizer";

/** What the build needs from the engine (Engine satisfies it). */
export interface RoutingModel {
  readonly tokenizer: SentencePieceTokenizer;
  readonly routingGroups: number;
  readonly config: { moeHeads: number; moeExperts: number; maxPositionEmbeddings: number };
  route(
    text: string,
  ): Promise<{ ids: number[]; routing: RoutingArrays; spans?: ReadonlyArray<readonly [number, number]> }>;
}

export interface BuildOptions {
  corpusDir: string;
  model: ModelIdentity;
  ratio?: number;
  /** Classes with fewer training tokens are left out (default 1024). */
  minTokens?: number;
  /** Tokens read per class at most (default 8192). */
  maxTokensPerLanguage?: number;
  segmentTokens?: number;
  split?: SplitRule;
  /** Only these languages (default: every language of the corpus); control classes are added. */
  languages?: readonly string[];
  /** Control classes read from the corpus (languages.ts CONTROL_CLASSES; default ["plaintext"]). */
  controls?: readonly string[];
  /** Top contexts kept per expert (default 4); 0 keeps no expert statistics at all. */
  contextsPerExpert?: number;
  signal?: AbortSignal;
  log?: (line: string) => void;
  /** After each forward pass: tokens done and planned over all classes. */
  onProgress?: (p: { language: string; done: number; total: number }) => void;
}

export const BUILD_DEFAULTS = {
  ratio: 2,
  minTokens: 1024,
  maxTokensPerLanguage: 8192,
  segmentTokens: 512,
  controls: ["plaintext"] as readonly string[],
  contextsPerExpert: 4,
} as const;

interface Planned {
  language: string;
  stats: LanguageStats;
  /** One forward pass each, BOS excluded from the budget. */
  pieces: Piece[];
  seen: string[];
  /** sha256 of each file read, by corpus-relative path. */
  sha256: Map<string, string>;
}

/** A build that cannot give an atlas worth having (too few classes with enough tokens). */
export class AtlasBuildError extends Error {}

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
    contextsPerExpert: opts.contextsPerExpert ?? BUILD_DEFAULTS.contextsPerExpert,
  };
  if (!(params.ratio >= 1)) throw new Error(`the ratio must be ≥ 1, got ${params.ratio}`);
  const controls = [...(opts.controls ?? BUILD_DEFAULTS.controls)];
  const unknownControl = controls.filter((c) => !Object.hasOwn(CONTROL_CLASSES, c));
  if (unknownControl.length > 0)
    throw new Error(
      `unknown control class ${unknownControl.join(", ")} (known: ${Object.keys(CONTROL_CLASSES).join(", ")})`,
    );
  const split = opts.split ?? DEFAULT_SPLIT;
  const log = opts.log ?? (() => undefined);
  const scan = scanCorpus(opts.corpusDir, { controls });
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
  const chosen = [...all].filter(
    ([lang]) => controls.includes(lang) || !opts.languages || opts.languages.includes(lang),
  );
  if (!chosen.some(([lang]) => !controls.includes(lang)))
    throw new Error(`${opts.corpusDir}: no source files with a known extension`);

  // Plan: read and cut each class's training files up to the budget (cheap), so that
  // progress knows the total and short classes are dropped before any model time.
  const plans: Planned[] = [];
  const omitted: Record<string, string> = {};
  const omittedTokens: Record<string, number> = {};
  for (const [language, files] of chosen) {
    throwIfCancelled(opts.signal);
    const plan = planLanguage(engine.tokenizer, language, files, split, params);
    if (plan.stats.tokens < params.minTokens) {
      omitted[language] = `${plan.stats.tokens} training tokens, fewer than --min-tokens ${params.minTokens}`;
      omittedTokens[language] = plan.stats.tokens;
      log(`left out ${language}: ${omitted[language]}`);
      continue;
    }
    plans.push(plan);
  }
  const planned = plans.filter((p) => !controls.includes(p.language));
  if (planned.length === 0 || plans.length < 2) {
    const counts = chosen
      .map(([lang]) => {
        const p = plans.find((x) => x.language === lang);
        return `${lang} ${(p?.stats.tokens ?? omittedTokens[lang] ?? 0).toLocaleString("en-US")}`;
      })
      .join(", ");
    throw new AtlasBuildError(
      `${opts.corpusDir}: ${planned.length === 0 ? "no language has" : "only one class has"} --min-tokens ${params.minTokens} training tokens (tokens per class: ${counts}); an atlas compares at least two classes: add source files, or lower --min-tokens knowing that labels from few tokens are unreliable`,
    );
  }

  const groups = engine.routingGroups;
  const { moeHeads: H, moeExperts: E } = engine.config;
  const top = new TopTwo(groups, E * E);
  const stats =
    params.contextsPerExpert! > 0
      ? new ExpertStatsBuilder({
          groups,
          heads: H,
          experts: E,
          classes: plans.map((p) => p.language),
          contextsPerExpert: params.contextsPerExpert!,
        })
      : undefined;
  const pooled = Array.from({ length: groups }, () => new Float64Array(E * E));
  let pooledTokens = 0;
  const total = plans.reduce((n, p) => n + p.stats.tokens, 0);
  let done = 0;
  // Where the time goes (logged): the model's forward passes, and the accumulation (sums, and the contexts when kept).
  let routingMs = 0;
  let accumulateMs = 0;
  const languages: Record<string, LanguageStats> = {};
  for (const plan of plans) {
    const acc = new RoutingAccumulator(groups, H, E, stats?.contexts);
    for (const piece of plan.pieces) {
      throwIfCancelled(opts.signal);
      const t0 = performance.now();
      const routed = await engine.route(piece.text);
      const t1 = performance.now();
      routingMs += t1 - t0;
      if (stats) {
        if (!routed.spans) throw new Error("the model's route() gave no token spans");
        const rel = piece.file.rel;
        const refs = stats.addPiece({ rel, sha256: plan.sha256.get(rel)! }, piece.offset, routed.spans);
        acc.add(routed.routing, 1, refs); // position 0 is BOS, the same for every class
      } else acc.add(routed.routing, 1);
      accumulateMs += performance.now() - t1;
      done += routed.ids.length - 1;
      opts.onProgress?.({ language: plan.language, done, total });
    }
    plan.stats.tokens = acc.tokens;
    languages[plan.language] = plan.stats;
    const means = acc.means();
    top.offer(plan.language, means);
    stats?.setProfile(plan.language, means, acc.tokens);
    for (let g = 0; g < groups; g++) {
      const p = pooled[g]!;
      const s = acc.sums[g]!;
      for (let e = 0; e < p.length; e++) p[e]! += s[e]!;
    }
    pooledTokens += acc.tokens;
  }
  log(
    `routing ${(routingMs / 1000).toFixed(1)} s, accumulating ${(accumulateMs / 1000).toFixed(1)} s${stats ? " (with the top contexts)" : ""} for ${pooledTokens} tokens`,
  );
  const pooledMeans = pooled.map((p) => p.map((v) => v / pooledTokens));
  const labelled = top.specialised(params.ratio);
  const names = [...labelled.keys()].filter((n) => !controls.includes(n)).sort();
  const controlNames = [...labelled.keys()].filter((n) => controls.includes(n)).sort();
  const atlas: Atlas = {
    createdAt: new Date().toISOString(),
    model: opts.model,
    corpus: {
      root: opts.corpusDir,
      split,
      languages,
      omitted,
      omittedTokens,
      skippedFiles: scan.skipped.length,
      seen: [...new Set(plans.flatMap((p) => p.seen))].sort(),
    },
    params,
    languages: names,
    sets: new Map(names.map((n) => [n, labelled.get(n)!])),
    controls: controlNames,
    controlSets: new Map(controlNames.map((n) => [n, labelled.get(n)!])),
    baselines: classBaselines(labelled, pooledMeans, H),
    buildSeconds: Math.round((Date.now() - started) / 100) / 10,
  };
  if (stats) atlas.expertStats = stats.finish(opts.model.fingerprint);
  return atlas;
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
  return {
    language,
    stats,
    pieces: sample.pieces,
    seen: sample.used.map((u) => u.hash),
    sha256: new Map(sample.used.map((u) => [u.file.rel, u.sha256])),
  };
}

function summariseSkipped(skipped: Array<{ reason: string }>): string {
  const counts = new Map<string, number>();
  for (const s of skipped) counts.set(s.reason, (counts.get(s.reason) ?? 0) + 1);
  return [...counts].map(([r, n]) => `${n} × ${r}`).join(", ");
}
