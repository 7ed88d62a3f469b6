// How well a dominance rule names the language of text the atlas did not see: the atlas's
// held-out files of every class (one piece of up to `tokensPerFile` tokens from each), and
// "mixed" texts made of the first halves of two held-out files of different classes. For a
// grid of thresholds it counts, per token, per window of `windowTokens` tokens, per file
// and per mixed text, how often the rule names the true class, another one, or none.
// `monet-lens atlas dominance` prints it; docs/atlas.md ("Dominance") has the figures that
// chose the thresholds in dominance.ts.
import type { Atlas } from "./atlas-file";
import { budgetOrder, byLanguage, readSource, scanCorpus, splitFiles } from "./corpus";
import { type DominanceThresholds, dominantClass } from "./dominance";
import { expertOwners, liftOf, overallBaselines, ownerClasses, tokenShares } from "./route-shares";
import { segmentBounds } from "./segments";
import type { RoutingModel } from "./build";

export interface DominanceSamples {
  classes: string[];
  /** Per class, baseline of the mean over groups. */
  baselines: number[];
  /** Pure held-out pieces: class index and per-token shares (tokens × classes). */
  files: Array<{ cls: number; path: string; shares: Float32Array; tokens: number }>;
  /** Mixed texts: the two classes, and per-token shares with each token's part (0 or 1). */
  mixed: Array<{ a: number; b: number; shares: Float32Array; part: Uint8Array; tokens: number }>;
}

export interface DominanceEvalOptions {
  corpusDir: string;
  atlas: Atlas;
  tokensPerFile?: number;
  /** Held-out files read per class at most (default: all). */
  maxFilesPerClass?: number;
  /** Mixed texts per pair of classes (default 1; 0: none). */
  mixedPerPair?: number;
  signal?: AbortSignal;
  onProgress?: (p: { done: number; total: number; what: string }) => void;
}

/** Routes the held-out and mixed texts once; `scoreRule` then scores any thresholds on them. */
export async function collectDominanceSamples(
  model: RoutingModel,
  opts: DominanceEvalOptions,
): Promise<DominanceSamples> {
  const { atlas } = opts;
  const owners = expertOwners(atlas);
  const baselines = overallBaselines(owners);
  if (!baselines)
    throw new Error("the atlas has no baselines (a version-1 atlas): rebuild it with monet-lens atlas build");
  const classes = ownerClasses(owners);
  const C = classes.length;
  const perFile = Math.min(opts.tokensPerFile ?? 512, model.config.maxPositionEmbeddings - 16);
  const seen = new Set(atlas.corpus.seen);
  const all = byLanguage(scanCorpus(opts.corpusDir, { controls: atlas.controls }).files);
  const texts: Array<{ cls: number; path: string; text: string }> = [];
  for (const [c, cls] of classes.entries()) {
    const files = all.get(cls);
    if (!files) continue;
    const { heldOut } = splitFiles(files, atlas.corpus.split);
    let n = 0;
    for (const f of budgetOrder(heldOut)) {
      if (opts.maxFilesPerClass !== undefined && n >= opts.maxFilesPerClass) break;
      const src = readSource(f);
      if (!src || seen.has(src.hash)) continue;
      const [from, to] = segmentBounds(model.tokenizer, src.text, perFile)[0] ?? [0, 0];
      if (to - from < 16) continue;
      texts.push({ cls: c, path: f.rel, text: src.text.slice(from, to) });
      n++;
    }
  }
  // Mixed: the first half of a file of class a, then the first half of one of class b.
  const mixedTexts: Array<{ a: number; b: number; first: string; second: string }> = [];
  const byClass = classes.map((_, c) => texts.filter((t) => t.cls === c));
  const halfOf = (text: string) => segmentBounds(model.tokenizer, text, Math.floor(perFile / 2))[0]!;
  for (let k = 0; k < (opts.mixedPerPair ?? 1); k++)
    for (let a = 0; a < C; a++)
      for (let b = a + 1; b < C; b++) {
        const ta = byClass[a]![(k + b) % Math.max(byClass[a]!.length, 1)];
        const tb = byClass[b]![(k + a) % Math.max(byClass[b]!.length, 1)];
        if (!ta || !tb) continue;
        const [fa, ea] = halfOf(ta.text);
        const [fb, eb] = halfOf(tb.text);
        const first = ta.text.slice(fa, ea);
        mixedTexts.push({
          a,
          b,
          first: first.endsWith("\n") ? first : `${first}\n`,
          second: tb.text.slice(fb, eb),
        });
      }
  const total = texts.length + mixedTexts.length;
  let done = 0;
  const sharesOf = async (text: string) => {
    opts.signal?.throwIfAborted();
    const routed = await model.route(text);
    const H = model.config.moeHeads;
    const E = model.config.moeExperts;
    const shape = { tokens: routed.ids.length, heads: H, experts: E, groups: model.routingGroups };
    const T = routed.ids.length - 1;
    const out = new Float32Array(T * C);
    for (let t = 1; t <= T; t++)
      out.set(tokenShares(routed.routing, shape, t, owners, undefined, 0).shares, (t - 1) * C);
    return { out, T, spans: routed.spans };
  };
  const files: DominanceSamples["files"] = [];
  for (const t of texts) {
    const r = await sharesOf(t.text);
    files.push({ cls: t.cls, path: t.path, shares: r.out, tokens: r.T });
    opts.onProgress?.({ done: ++done, total, what: `${classes[t.cls]} ${t.path}` });
  }
  const mixed: DominanceSamples["mixed"] = [];
  for (const m of mixedTexts) {
    const text = m.first + m.second;
    const r = await sharesOf(text);
    const part = new Uint8Array(r.T);
    for (let t = 1; t <= r.T; t++) part[t - 1] = (r.spans?.[t]?.[0] ?? 0) >= m.first.length ? 1 : 0;
    mixed.push({ a: m.a, b: m.b, shares: r.out, part, tokens: r.T });
    opts.onProgress?.({ done: ++done, total, what: `mixed ${classes[m.a]} + ${classes[m.b]}` });
  }
  return { classes, baselines, files, mixed };
}

/** Outcomes of a rule: right class, another class, none (counts). */
export interface Outcome {
  right: number;
  wrong: number;
  none: number;
}

export interface RuleScore {
  token: DominanceThresholds;
  selection: DominanceThresholds;
  /** Per token of held-out code files, and of prose (control) files. */
  codeTokens: Outcome;
  proseTokens: Outcome;
  /** Per window of `windowTokens` tokens, per whole piece (file), split code / prose. */
  codeWindows: Outcome;
  proseWindows: Outcome;
  codeFiles: Outcome;
  proseFiles: Outcome;
  /** Mixed texts as one selection: right = one of its two classes. */
  mixed: Outcome;
  /** Per class: files right / wrong / none. */
  perClassFiles: Record<string, Outcome>;
}

const zero = (): Outcome => ({ right: 0, wrong: 0, none: 0 });

export function scoreRule(
  s: DominanceSamples,
  token: DominanceThresholds,
  selection: DominanceThresholds,
  opts: { windowTokens?: number; controls?: readonly string[] } = {},
): RuleScore {
  const C = s.classes.length;
  const W = opts.windowTokens ?? 64;
  const isProse = (c: number) => (opts.controls ?? []).includes(s.classes[c]!);
  const score: RuleScore = {
    token,
    selection,
    codeTokens: zero(),
    proseTokens: zero(),
    codeWindows: zero(),
    proseWindows: zero(),
    codeFiles: zero(),
    proseFiles: zero(),
    mixed: zero(),
    perClassFiles: Object.fromEntries(s.classes.map((c) => [c, zero()])),
  };
  const count = (o: Outcome, named: string | null, truth: readonly number[]) => {
    if (named === null) o.none++;
    else if (truth.some((c) => s.classes[c] === named)) o.right++;
    else o.wrong++;
  };
  const meanShares = (shares: Float32Array, from: number, to: number) => {
    const m = new Array<number>(C).fill(0);
    for (let t = from; t < to; t++) for (let c = 0; c < C; c++) m[c]! += shares[t * C + c]!;
    return m.map((x) => x / Math.max(to - from, 1));
  };
  const rowLift = (shares: Float32Array, t: number) =>
    liftOf(Array.from(shares.subarray(t * C, (t + 1) * C)), s.baselines);
  for (const f of s.files) {
    const prose = isProse(f.cls);
    for (let t = 0; t < f.tokens; t++)
      count(
        prose ? score.proseTokens : score.codeTokens,
        dominantClass(rowLift(f.shares, t), s.classes, token),
        [f.cls],
      );
    for (let w = 0; w + W <= f.tokens; w += W)
      count(
        prose ? score.proseWindows : score.codeWindows,
        dominantClass(liftOf(meanShares(f.shares, w, w + W), s.baselines), s.classes, selection),
        [f.cls],
      );
    const named = dominantClass(liftOf(meanShares(f.shares, 0, f.tokens), s.baselines), s.classes, selection);
    count(prose ? score.proseFiles : score.codeFiles, named, [f.cls]);
    count(score.perClassFiles[s.classes[f.cls]!]!, named, [f.cls]);
  }
  for (const m of s.mixed)
    count(
      score.mixed,
      dominantClass(liftOf(meanShares(m.shares, 0, m.tokens), s.baselines), s.classes, selection),
      [m.a, m.b],
    );
  return score;
}

/** Fractions of an outcome, as percentages with one decimal. */
export function rates(o: Outcome): { right: number; wrong: number; none: number; n: number } {
  const n = o.right + o.wrong + o.none;
  const p = (x: number) => (n ? Math.round((1000 * x) / n) / 10 : 0);
  return { right: p(o.right), wrong: p(o.wrong), none: p(o.none), n };
}

/** Thresholds tried by `atlas dominance`. */
export const LIFT_GRID = [1.5, 2, 2.5, 3, 4, 5] as const;
export const RATIO_GRID = [1, 1.25, 1.5, 2, 3] as const;

/** The grid as Markdown: one table for the token rule, one for the selection rule. */
export function dominanceTables(s: DominanceSamples, controls: readonly string[], windowTokens = 64): string {
  const pct = (o: Outcome) => {
    const r = rates(o);
    return `${r.right} / ${r.wrong} / ${r.none}`;
  };
  const n = (o: Outcome) => rates(o).n;
  const rows: string[] = [];
  const first = scoreRule(
    s,
    { minLift: 1, minRatio: 1 },
    { minLift: 1, minRatio: 1 },
    { windowTokens, controls },
  );
  rows.push(
    `Token rule (right / wrong / none, % of tokens; ${n(first.codeTokens)} code tokens, ${n(first.proseTokens)} prose tokens):`,
    "",
    "| min lift | min ratio | code tokens | prose tokens |",
    "|---:|---:|---|---|",
  );
  for (const minLift of LIFT_GRID)
    for (const minRatio of RATIO_GRID) {
      const t = { minLift, minRatio };
      const r = scoreRule(s, t, t, { windowTokens, controls });
      rows.push(`| ${minLift} | ${minRatio} | ${pct(r.codeTokens)} | ${pct(r.proseTokens)} |`);
    }
  rows.push(
    "",
    `Selection rule (right / wrong / none, %; ${n(first.codeWindows)} code and ${n(first.proseWindows)} prose windows of ${windowTokens} tokens, ${n(first.codeFiles)} code and ${n(first.proseFiles)} prose files, ${n(first.mixed)} mixed texts where "right" is either part):`,
    "",
    `| min lift | min ratio | code windows | prose windows | code files | prose files | mixed |`,
    "|---:|---:|---|---|---|---|---|",
  );
  for (const minLift of LIFT_GRID)
    for (const minRatio of RATIO_GRID) {
      const t = { minLift, minRatio };
      const r = scoreRule(s, t, t, { windowTokens, controls });
      rows.push(
        `| ${minLift} | ${minRatio} | ${pct(r.codeWindows)} | ${pct(r.proseWindows)} | ${pct(r.codeFiles)} | ${pct(r.proseFiles)} | ${pct(r.mixed)} |`,
      );
    }
  return rows.join("\n");
}
