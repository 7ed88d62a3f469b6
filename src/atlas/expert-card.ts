// What an expert card shows, as data: an expert (group, i, j)'s routing profile against the
// classes' pooled mean, its top-activating contexts (read from the atlas corpus when it is
// here, else from the user's own files on demand), a language's strongest experts, and the
// seam for "effect here" (the next-token distribution with the expert switched off or
// scaled), which takes the engine's steering as a callback.
import { existsSync, readFileSync, statSync } from "node:fs";
import { createHash } from "node:crypto";
import { isAbsolute, join } from "node:path";
import {
  type Atlas,
  AtlasError,
  atlasClasses,
  atlasCorpusRoot,
  atlasStatsPath,
  classSets,
} from "./atlas-file";
import type { RoutingArrays } from "./accumulate";
import { byLanguage, readSource, scanCorpus } from "./corpus";
import { type ContextRef, dequantizeScore, ExpertStatsFile } from "./expert-stats";
import { segmentBounds } from "./segments";
import type { SentencePieceTokenizer } from "../tokenizer/tokenizer";

/** An expert: routing group `group`, half-experts `i` (g1) and `j` (g2). */
export interface ExpertId {
  group: number;
  i: number;
  j: number;
}

/** "g0:359:356" → {group 0, i 359, j 356}; checked against the model's shape when given. */
export function parseExpertId(text: string, shape?: { groups: number; experts: number }): ExpertId {
  const m = /^g(\d+):(\d+):(\d+)$/.exec(text.trim());
  if (!m) throw new AtlasError(`"${text}" is not an expert id: write gGROUP:I:J, e.g. g0:359:356`);
  const [group, i, j] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (shape && (group >= shape.groups || i >= shape.experts || j >= shape.experts))
    throw new AtlasError(
      `no expert ${text} in this model: groups 0–${shape.groups - 1}, half-experts 0–${shape.experts - 1}`,
    );
  return { group, i, j };
}

export function formatExpertId(x: ExpertId): string {
  return `g${x.group}:${x.i}:${x.j}`;
}

/** The class that owns the expert in the atlas, if any. */
export function expertOwner(atlas: Atlas, x: ExpertId): { id: string; kind: "language" | "control" } | null {
  const e = x.i * atlas.model.config.moeExperts + x.j;
  for (const id of atlasClasses(atlas)) {
    const set = classSets(atlas, id)![x.group]!;
    if (binarySearch(set, e)) return { id, kind: atlas.controls.includes(id) ? "control" : "language" };
  }
  return null;
}

function binarySearch(sorted: ArrayLike<number>, v: number): boolean {
  let lo = 0;
  let hi = sorted.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const x = sorted[mid]!;
    if (x === v) return true;
    if (x < v) lo = mid + 1;
    else hi = mid - 1;
  }
  return false;
}

/** The atlas's expert statistics, opened and checked, or a clear error saying why there are none. */
export function openExpertStats(atlasPath: string, atlas: Atlas): ExpertStatsFile {
  const path = atlasStatsPath(atlasPath, atlas);
  if (!path || !atlas.stats)
    throw new AtlasError(
      `${atlasPath} has no expert statistics (an atlas built before Monet Lens kept them, or with --contexts 0); rebuild it with monet-lens atlas build`,
    );
  return ExpertStatsFile.open(path, {
    id: atlas.stats.id,
    fingerprint: atlas.model.fingerprint,
    groups: atlas.model.config.routingGroups,
    experts: atlas.model.config.moeExperts,
  });
}

export interface ClassScore {
  id: string;
  kind: "language" | "control";
  /** The expert's mean score Σ_h g1·g2 per token of this class. */
  mean: number;
  /** mean ÷ the expert's pooled mean (1: as on any token of the corpus). */
  lift: number;
  /** The class's baseline share (its experts' mean share of a token's mass), for context. */
  baseline: number | null;
}

export interface ExpertProfile {
  expert: string;
  group: number;
  i: number;
  j: number;
  owner: { id: string; kind: "language" | "control" } | null;
  /** The expert's mean score over all the atlas corpus's tokens pooled. */
  pooledMean: number;
  /** Its mean share of a token's routing mass in its group: pooledMean ÷ H. */
  pooledShare: number;
  /** Classes, highest mean first. */
  classes: ClassScore[];
}

export function expertProfile(atlas: Atlas, stats: ExpertStatsFile, x: ExpertId): ExpertProfile {
  const E = atlas.model.config.moeExperts;
  const values = stats.profile(x.group, x.i * E + x.j);
  const pooled = stats.pooledMean(values);
  const classes = stats.classes.map((id, c) => {
    const b = atlas.baselines?.get(id);
    return {
      id,
      kind: (atlas.controls.includes(id) ? "control" : "language") as ClassScore["kind"],
      mean: values[c]!,
      lift: pooled > 0 ? values[c]! / pooled : 0,
      baseline: b ? b[x.group]! : null,
    };
  });
  classes.sort((a, b) => b.mean - a.mean);
  return {
    expert: formatExpertId(x),
    ...x,
    owner: expertOwner(atlas, x),
    pooledMean: pooled,
    pooledShare: pooled / atlas.model.config.moeHeads,
    classes,
  };
}

export interface RankedExpert {
  expert: string;
  group: number;
  i: number;
  j: number;
  /** Mean score in the language, the expert's pooled mean, and their ratio. */
  mean: number;
  pooledMean: number;
  lift: number;
  /** The class with the next-highest mean, and how many times higher the language's mean is. */
  next: { id: string; mean: number } | null;
  ratio: number;
}

/**
 * A class's strongest experts: among the experts the atlas gives it (every group), the
 * `top` with the highest mean score in it (`by: "score"`) or the highest lift over their
 * pooled mean (`by: "lift"`).
 */
export function strongestExperts(
  atlas: Atlas,
  stats: ExpertStatsFile,
  cls: string,
  opts: { top?: number; by?: "score" | "lift" } = {},
): RankedExpert[] {
  const sets = classSets(atlas, cls);
  if (!sets)
    throw new AtlasError(`the atlas has no class ${cls}; its classes are ${atlasClasses(atlas).join(", ")}`);
  const c = stats.classes.indexOf(cls);
  if (c < 0) throw new AtlasError(`the expert statistics have no profile for ${cls}`);
  const E = atlas.model.config.moeExperts;
  const C = stats.classes.length;
  const by = opts.by ?? "score";
  const out: RankedExpert[] = [];
  sets.forEach((set, g) => {
    const profile = stats.groupProfile(g);
    for (const e of set) {
      const values = Array.from(profile.subarray(e * C, (e + 1) * C), dequantizeScore);
      const pooled = stats.pooledMean(values);
      let next = -1;
      for (let k = 0; k < C; k++) if (k !== c && (next < 0 || values[k]! > values[next]!)) next = k;
      const mean = values[c]!;
      out.push({
        expert: formatExpertId({ group: g, i: Math.floor(e / E), j: e % E }),
        group: g,
        i: Math.floor(e / E),
        j: e % E,
        mean,
        pooledMean: pooled,
        lift: pooled > 0 ? mean / pooled : 0,
        next: next >= 0 ? { id: stats.classes[next]!, mean: values[next]! } : null,
        ratio: next >= 0 && values[next]! > 0 ? mean / values[next]! : Infinity,
      });
    }
  });
  const key = by === "lift" ? (r: RankedExpert) => r.lift : (r: RankedExpert) => r.mean;
  out.sort((a, b) => key(b) - key(a) || a.group - b.group || a.i - b.i || a.j - b.j);
  return out.slice(0, opts.top ?? 20);
}

export interface ContextSnippet {
  /** Corpus-relative path (atlas contexts) or the file's path (contexts from the user's files). */
  path: string;
  /** 1-based line of the token. */
  line: number;
  span: [number, number];
  score: number;
  before: string;
  token: string;
  after: string;
}

/** A token in its context: up to `chars` characters on each side, cut at line ends after `lines` lines. */
export function snippet(
  text: string,
  span: readonly [number, number],
  opts: { chars?: number; lines?: number } = {},
): { before: string; token: string; after: string; line: number } {
  const chars = opts.chars ?? 80;
  const lines = opts.lines ?? 2;
  let from = Math.max(0, span[0] - chars);
  let newlines = 0;
  for (let k = span[0] - 1; k >= from; k--)
    if (text.charCodeAt(k) === 10 && ++newlines > lines) {
      from = k + 1;
      break;
    }
  let to = Math.min(text.length, span[1] + chars);
  newlines = 0;
  for (let k = span[1]; k < to; k++)
    if (text.charCodeAt(k) === 10 && ++newlines > lines) {
      to = k;
      break;
    }
  let line = 1;
  for (let k = 0; k < span[0]; k++) if (text.charCodeAt(k) === 10) line++;
  return {
    before: text.slice(from, span[0]),
    token: text.slice(span[0], span[1]),
    after: text.slice(span[1], to),
    line,
  };
}

export interface CorpusContexts {
  /** The corpus folder the contexts were read from. */
  root: string;
  /** The references the atlas keeps, best first. */
  refs: ContextRef[];
  /** The ones whose file is here with the same content, as snippets. */
  contexts: ContextSnippet[];
  /** Why some or all are missing ("the corpus is not available here: …", "changed since the build: …"). */
  missing: string[];
}

/**
 * The expert's top contexts from the atlas corpus: each reference's file is read from
 * `root` (default: the corpus the atlas was built from, found from the atlas file at
 * `atlasPath`) and used only when its sha256 matches the build's. Nothing of the corpus is
 * stored in the project: the text is read here, now.
 */
export function corpusContexts(
  atlasPath: string,
  atlas: Atlas,
  stats: ExpertStatsFile,
  x: ExpertId,
  opts: { root?: string; chars?: number } = {},
): CorpusContexts {
  const root = atlasCorpusRoot(atlasPath, atlas, opts.root);
  const refs = stats.contexts(x.group, x.i * atlas.model.config.moeExperts + x.j);
  const contexts: ContextSnippet[] = [];
  const missing: string[] = [];
  if (!existsSync(root) || !statSync(root).isDirectory()) {
    missing.push(
      `the atlas corpus is not available here (${root}); pass --corpus DIR, or rank this expert's tokens in your own files`,
    );
    return { root, refs, contexts, missing };
  }
  for (const ref of refs) {
    if (isAbsolute(ref.path) || ref.path.split("/").includes("..")) {
      missing.push(`${ref.path}: not a corpus-relative path`);
      continue;
    }
    const path = join(root, ref.path);
    let bytes: Buffer;
    try {
      bytes = readFileSync(path);
    } catch {
      missing.push(`${ref.path}: not in ${root}`);
      continue;
    }
    if (createHash("sha256").update(bytes).digest("hex") !== ref.sha256) {
      missing.push(`${ref.path}: changed since the atlas was built`);
      continue;
    }
    const text = bytes.toString("utf8");
    contexts.push({ path: ref.path, span: ref.span, score: ref.score, ...snippet(text, ref.span, opts) });
  }
  return { root, refs, contexts, missing };
}

/** What ranking an expert's tokens in the user's files needs from the engine (Engine satisfies it). */
export interface ExpertRoutingModel {
  readonly tokenizer: SentencePieceTokenizer;
  readonly config: { moeHeads: number; moeExperts: number; maxPositionEmbeddings: number };
  route(text: string): Promise<{
    ids: number[];
    routing: RoutingArrays;
    spans: ReadonlyArray<readonly [number, number]>;
  }>;
}

/** The expert's score Σ_h g1[t,h,i]·g2[t,h,j] at every token of a routing. */
export function expertScores(
  routing: RoutingArrays,
  x: ExpertId,
  heads: number,
  experts: number,
): Float64Array {
  const g1 = routing.g1[x.group]!;
  const g2 = routing.g2[x.group]!;
  const T = g1.length / (heads * experts);
  const out = new Float64Array(T);
  for (let t = 0; t < T; t++) {
    let s = 0;
    for (let h = 0; h < heads; h++) {
      const base = (t * heads + h) * experts;
      s += g1[base + x.i]! * g2[base + x.j]!;
    }
    out[t] = s;
  }
  return out;
}

/**
 * The expert's top contexts in the user's own files (on demand, for a card whose atlas
 * corpus is not here, or to see the expert at work in a project): runs the model over each
 * file (or each source file of a folder) in pieces, at most `maxTokens` tokens in all, and
 * keeps the `top` tokens with the highest score (at most `perFile` per file).
 */
export async function contextsFromFiles(
  model: ExpertRoutingModel,
  paths: readonly string[],
  x: ExpertId,
  opts: {
    top?: number;
    perFile?: number;
    maxTokens?: number;
    segmentTokens?: number;
    chars?: number;
    signal?: AbortSignal;
  } = {},
): Promise<{ contexts: ContextSnippet[]; tokens: number; files: number }> {
  const top = opts.top ?? 5;
  const perFile = opts.perFile ?? 2;
  const budget = opts.maxTokens ?? 20_000;
  const segment = Math.min(opts.segmentTokens ?? 512, model.config.maxPositionEmbeddings - 16);
  const { moeHeads: H, moeExperts: E } = model.config;
  const files = expandPaths(paths);
  const best: Array<ContextSnippet & { file: string }> = [];
  let tokens = 0;
  let read = 0;
  for (const file of files) {
    if (tokens >= budget) break;
    const src = readSource({ path: file });
    if (!src) continue;
    read++;
    const found: Array<{ span: [number, number]; score: number }> = [];
    for (const [from, to] of segmentBounds(model.tokenizer, src.text, segment)) {
      if (tokens >= budget) break;
      opts.signal?.throwIfAborted();
      const routed = await model.route(src.text.slice(from, to));
      const scores = expertScores(routed.routing, x, H, E);
      for (let t = 1; t < routed.ids.length; t++) {
        const [a, b] = routed.spans[t]!;
        if (scores[t]! > 0) found.push({ span: [from + a, from + b], score: scores[t]! });
      }
      tokens += routed.ids.length - 1;
    }
    found.sort((a, b) => b.score - a.score);
    for (const f of found.slice(0, perFile))
      best.push({ file, path: file, span: f.span, score: f.score, ...snippet(src.text, f.span, opts) });
  }
  best.sort((a, b) => b.score - a.score);
  return { contexts: best.slice(0, top).map(({ file: _, ...c }) => c), tokens, files: read };
}

/** Files as given, and the source and .txt files under folders (sorted, as a corpus scan finds them). */
function expandPaths(paths: readonly string[]): string[] {
  return paths.flatMap((p) => {
    let st;
    try {
      st = statSync(p);
    } catch {
      throw new AtlasError(`${p}: no such file or folder`);
    }
    if (!st.isDirectory()) return [p];
    return [...byLanguage(scanCorpus(p, { controls: ["plaintext"] }).files).values()]
      .flat()
      .map((f) => f.path);
  });
}

/** One expert's scale, for the engine's steering: its routing score is multiplied by `scale` (0 switches it off). */
export interface OneExpertScale extends ExpertId {
  scale: number;
}

/**
 * The next-token logits at the cursor (vocabulary-sized) with one expert scaled, or with
 * nothing changed (null). The engine's steering supplies it (see the report: to be wired
 * to the Steering type).
 */
export type LogitsWith = (scale: OneExpertScale | null) => Promise<Float32Array>;

export interface TokenChange {
  id: number;
  piece: string;
  /** Probabilities without and with the change, and after − before. */
  before: number;
  after: number;
  delta: number;
}

export interface ExpertEffect {
  expert: string;
  scale: number;
  /** KL(before ‖ after) of the next-token distribution, in nats. */
  kl: number;
  /** The most likely next token without and with the change. */
  top1: { before: TokenChange; after: TokenChange };
  /** The tokens whose probability rises most, and falls most. */
  up: TokenChange[];
  down: TokenChange[];
  /** Greedy continuations without and with the change, when `continueWith` was given. */
  continuation?: { before: string; after: string };
}

function softmax(logits: Float32Array): Float64Array {
  let max = -Infinity;
  for (const v of logits) if (v > max) max = v;
  const p = new Float64Array(logits.length);
  let z = 0;
  for (let k = 0; k < logits.length; k++) z += p[k] = Math.exp(logits[k]! - max);
  for (let k = 0; k < p.length; k++) p[k]! /= z;
  return p;
}

/**
 * The card's "effect here": the exact change of the next-token distribution when expert
 * `x` alone is scaled by `scale` (default 0: switched off), from two calls of `logitsWith`.
 */
export async function expertEffect(
  logitsWith: LogitsWith,
  x: ExpertId,
  opts: {
    scale?: number;
    top?: number;
    piece?: (id: number) => string;
    continueWith?: (scale: OneExpertScale | null) => Promise<string>;
  } = {},
): Promise<ExpertEffect> {
  const scale = opts.scale ?? 0;
  if (!(scale >= 0) || !Number.isFinite(scale))
    throw new RangeError(`a scale must be a number ≥ 0, got ${scale}`);
  const change: OneExpertScale = { ...x, scale };
  const before = softmax(await logitsWith(null));
  const after = softmax(await logitsWith(change));
  if (before.length !== after.length) throw new Error("the two logits have different sizes");
  const piece = opts.piece ?? ((id: number) => String(id));
  const tc = (id: number): TokenChange => ({
    id,
    piece: piece(id),
    before: before[id]!,
    after: after[id]!,
    delta: after[id]! - before[id]!,
  });
  let kl = 0;
  let b1 = 0;
  let a1 = 0;
  for (let k = 0; k < before.length; k++) {
    if (before[k]! > 0) kl += before[k]! * Math.log(before[k]! / Math.max(after[k]!, 1e-300));
    if (before[k]! > before[b1]!) b1 = k;
    if (after[k]! > after[a1]!) a1 = k;
  }
  const ids = Array.from(before.keys());
  const n = opts.top ?? 5;
  const delta = (k: number) => after[k]! - before[k]!;
  // Changes within 1e-9 are rounding, not an effect.
  const up = [...ids]
    .sort((p, q) => delta(q) - delta(p))
    .slice(0, n)
    .filter((k) => delta(k) > 1e-9);
  const down = [...ids]
    .sort((p, q) => delta(p) - delta(q))
    .slice(0, n)
    .filter((k) => delta(k) < -1e-9);
  const effect: ExpertEffect = {
    expert: formatExpertId(x),
    scale,
    kl: Math.max(0, kl),
    top1: { before: tc(b1), after: tc(a1) },
    up: up.map(tc),
    down: down.map(tc),
  };
  if (opts.continueWith)
    effect.continuation = { before: await opts.continueWith(null), after: await opts.continueWith(change) };
  return effect;
}
