// An expert card's top-activating contexts: from the atlas corpus, through the references
// the expert statistics keep (never corpus text: it is read here, now, and only when the
// file is unchanged), or on demand from the user's own files by running the model.
import { createHash } from "node:crypto";
import { existsSync, readFileSync, statSync } from "node:fs";
import { isAbsolute, join } from "node:path";
import type { SentencePieceTokenizer } from "../tokenizer/tokenizer";
import type { RoutingArrays } from "./accumulate";
import { type Atlas, AtlasError, atlasCorpusRoot } from "./atlas-file";
import { byLanguage, readSource, scanCorpus } from "./corpus";
import type { ExpertId } from "./expert-id";
import type { ContextRef, ExpertStatsFile } from "./expert-stats";
import { segmentBounds } from "./segments";

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
    let st: ReturnType<typeof statSync>;
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
