// What the heatmap shows, prepared from route data (pure; used by the webview and tested
// on its own): one column per atlas class (the programming languages, then control classes
// such as prose, then "no language", the share no class owns); per row and column the share
// of the routing mass for the chosen view (the mean over routing groups, or one group) and
// its lift over the class's baseline; the dominant class under the dominance rule (the
// token rule for a token, the selection rule for rows of several tokens and the summary);
// the strongest experts; a summary row; and, beyond `maxRows` tokens, consecutive tokens
// aggregated into one row each. Colours use fixed scales (scalePosition), so that views
// can be compared.
import { className, UNOWNED_ID } from "./class-names";
import { dominantClass } from "./dominance-rule";
import type { DominanceRule, DominanceThresholds, RouteData, RouteToken, TopExpert } from "./route-data";

/** "all": mean over routing groups (RouteToken.shares); a number: that group alone. */
export type GroupChoice = "all" | number;

/** What the cells show: lift over the class's baseline (the default) or the raw share. */
export type Metric = "lift" | "share";

export interface HeatColumn {
  /** The class id (a VS Code language id, a control class id) or UNOWNED_ID. */
  id: string;
  kind: "language" | "control" | "unowned";
  /** Display name (C++, JavaScript, Prose, No language). */
  label: string;
  /** Masked when the data was computed (languages only). */
  masked: boolean;
  /** The baseline of the chosen view (mean share over the atlas corpus), null when unknown. */
  baseline: number | null;
}

export interface Dominant {
  /** The dominant class id (a language or a control class such as plaintext), or null. */
  language: string | null;
  /** Its share and lift (0 and null when none). */
  share: number;
  lift: number | null;
}

export interface HeatRow {
  /** Row index in the view. */
  index: number;
  /** Tokens [from, to) of RouteData.tokens. */
  from: number;
  to: number;
  /** The tokens' text, joined. */
  text: string;
  /** Per language (RouteData.languages order): the mean share over the row's tokens. */
  values: number[];
  /** Per column (HeatView.columns): the mean share, and its lift (null: no baseline, or "no language"). */
  shares: number[];
  lift: Array<number | null>;
  dominant: Dominant;
  /** Share owned by no class of the atlas (unspecialised experts; masked ones hold none). */
  unowned: number;
  /** Strongest experts of the chosen group(s): top `perGroup` per group, by group then score. */
  top: TopExpert[];
}

export interface HeatSummary {
  tokens: number;
  values: number[];
  shares: number[];
  lift: Array<number | null>;
  dominant: Dominant;
  unowned: number;
}

export interface HeatView {
  languages: string[];
  /** Control classes (e.g. plaintext, shown as prose): never offered for masking. */
  controls: string[];
  /** Languages, controls, then "no language" (when the data has an atlas). */
  columns: HeatColumn[];
  /** Per language: masked when the data was computed. */
  masked: boolean[];
  group: GroupChoice;
  groups: number;
  tokenCount: number;
  /** 1 = one row per token; more = consecutive tokens aggregated per row. */
  tokensPerRow: number;
  rows: HeatRow[];
  summary: HeatSummary;
  /** The data has baselines, so lift can be shown (a version-1 atlas has none). */
  hasLift: boolean;
  /** The dominance rule (null: no baselines, no class is ever called dominant). */
  rule: DominanceRule | null;
  /** The largest language share of any row or the summary. */
  max: number;
}

/** Rows drawn one per token up to this many tokens; beyond it, tokens are aggregated. */
export const DEFAULT_MAX_ROWS = 4096;

/** The rule route-shares.ts applies when the data does not carry one (src/atlas/dominance.ts). */
const FALLBACK_RULE: DominanceRule = {
  token: { minLift: 3, minRatio: 1.5 },
  selection: { minLift: 2, minRatio: 1.5 },
  text:
    "A class is dominant when its lift (its share of the routing mass ÷ its baseline) is well " +
    "above every other class's: for a token lift ≥ 3× and ≥ 1.5× the next class's lift; for a " +
    "selection lift ≥ 2× and ≥ 1.5× the next. Otherwise no class is dominant.",
};

function finite(v: unknown): number {
  return typeof v === "number" && Number.isFinite(v) ? v : 0;
}

/** A token's language shares for the chosen view. */
export function tokenValues(token: RouteToken, group: GroupChoice, languages: number): number[] {
  const src = group === "all" ? token.shares : token.groupShares[group];
  return Array.from({ length: languages }, (_, l) => finite(src?.[l]));
}

/** A token's class shares (languages, controls, unowned) for the chosen view. */
export function tokenColumnShares(
  token: RouteToken,
  group: GroupChoice,
  languages: number,
  controls: number,
): number[] {
  const ctrl = group === "all" ? token.controlShares : token.groupControlShares?.[group];
  const out = tokenValues(token, group, languages);
  for (let c = 0; c < controls; c++) out.push(finite(ctrl?.[c]));
  const unowned = group === "all" ? token.unowned : token.groupUnowned?.[group];
  // Data made before the unowned field (and hand-made data): what the classes leave.
  out.push(
    typeof unowned === "number" && Number.isFinite(unowned)
      ? unowned
      : Math.max(0, 1 - out.reduce((s, v) => s + v, 0)),
  );
  return out;
}

/**
 * The language with the largest share; the first wins a tie; none when every share is 0.
 * (Not the dominance rule: only for data without baselines' tooltips and old callers.)
 */
export function dominantOf(values: readonly number[], languages: readonly string[]): Dominant {
  let language: string | null = null;
  let share = 0;
  values.forEach((v, l) => {
    if (v > share) {
      share = v;
      language = languages[l] ?? null;
    }
  });
  return { language, share, lift: null };
}

/** The dominant class of one row's shares and lifts under `t` (classes: every column but the last). */
function dominantByRule(
  shares: readonly number[],
  lift: ReadonlyArray<number | null>,
  classes: readonly string[],
  t: DominanceThresholds | null,
): Dominant {
  const lifts = lift.slice(0, classes.length);
  if (!t || lifts.some((x) => x === null)) return { language: null, share: 0, lift: null };
  const id = dominantClass(lifts as number[], classes, t);
  const c = id === null ? -1 : classes.indexOf(id);
  return c < 0
    ? { language: null, share: 0, lift: null }
    : { language: id, share: shares[c]!, lift: lifts[c]! };
}

/** The strongest `perGroup` experts of each chosen group, scores averaged over `count` tokens. */
export function mergeTop(tokens: readonly RouteToken[], group: GroupChoice, perGroup = 3): TopExpert[] {
  const byKey = new Map<string, TopExpert>();
  for (const t of tokens) {
    for (const e of t.top) {
      if (group !== "all" && e[0] !== group) continue;
      const key = `${e[0]}:${e[1]}:${e[2]}:${e[3]}`;
      const seen = byKey.get(key);
      if (seen) seen[4] += e[4];
      else byKey.set(key, [e[0], e[1], e[2], e[3], e[4], e[5]]);
    }
  }
  const n = Math.max(tokens.length, 1);
  const all = [...byKey.values()].map((e): TopExpert => [e[0], e[1], e[2], e[3], e[4] / n, e[5]]);
  all.sort((a, b) => a[0] - b[0] || b[4] - a[4]);
  const out: TopExpert[] = [];
  const taken = new Map<number, number>();
  for (const e of all) {
    const k = taken.get(e[0]) ?? 0;
    if (k < perGroup) {
      out.push(e);
      taken.set(e[0], k + 1);
    }
  }
  return out;
}

function mean(rows: readonly number[][], width: number): number[] {
  const out = new Array<number>(width).fill(0);
  for (const r of rows) for (let l = 0; l < width; l++) out[l]! += r[l]!;
  return out.map((s) => (rows.length ? s / rows.length : 0));
}

/** Per class (languages then controls): the baseline of the chosen view, or null. */
function baselinesOf(data: RouteData, group: GroupChoice): Array<number | null> | null {
  const L = data.languages.length;
  const C = data.controls?.length ?? 0;
  const langs = group === "all" ? data.baseline : data.groupBaseline?.[group];
  const ctrls = group === "all" ? data.controlBaseline : data.groupControlBaseline?.[group];
  if (!langs || langs.length !== L || (C > 0 && (!ctrls || ctrls.length !== C))) return null;
  return [...langs, ...(ctrls ?? [])].map((b) => (typeof b === "number" && b > 0 ? b : null));
}

function liftOf(shares: readonly number[], base: ReadonlyArray<number | null> | null): Array<number | null> {
  return shares.map((s, c) => {
    const b = base?.[c];
    return b ? s / b : null;
  });
}

export function buildHeatView(data: RouteData, group: GroupChoice, maxRows = DEFAULT_MAX_ROWS): HeatView {
  const L = data.languages.length;
  const controls = L > 0 ? [...(data.controls ?? [])] : [];
  const C = controls.length;
  const classes = [...data.languages, ...controls];
  const g: GroupChoice =
    group === "all" || (Number.isInteger(group) && group >= 0 && group < data.groups) ? group : "all";
  const base = L > 0 ? baselinesOf(data, g) : null;
  const rule = base ? (data.dominance ?? FALLBACK_RULE) : null;
  const n = data.tokens.length;
  const per = n <= maxRows ? 1 : Math.ceil(n / Math.max(1, maxRows));
  const shares = data.tokens.map((t) => tokenColumnShares(t, g, L, C));
  const W = L > 0 ? L + C + 1 : 0;
  const rows: HeatRow[] = [];
  let max = 0;
  for (let from = 0, index = 0; from < n; from += per, index++) {
    const to = Math.min(n, from + per);
    const sh = per === 1 ? shares[from]! : mean(shares.slice(from, to), L + C + 1);
    const tokens = data.tokens.slice(from, to);
    const lift = [...liftOf(sh.slice(0, L + C), base), null].slice(0, W);
    let dominant = dominantByRule(
      sh,
      lift,
      classes,
      per === 1 ? (rule?.token ?? null) : (rule?.selection ?? null),
    );
    // One token of the mean view: route's own verdict (the same rule on unrounded shares).
    const t0 = tokens[0]!;
    if (per === 1 && g === "all" && rule && t0.lift !== undefined) {
      const c = t0.dominant === null ? -1 : classes.indexOf(t0.dominant);
      dominant =
        c < 0
          ? { language: null, share: 0, lift: null }
          : { language: t0.dominant, share: sh[c]!, lift: lift[c] ?? null };
    }
    rows.push({
      index,
      from,
      to,
      text: tokens.map((t) => t.text).join(""),
      values: sh.slice(0, L),
      shares: sh.slice(0, W),
      lift,
      dominant,
      unowned: sh[L + C]!,
      top: per === 1 ? t0.top.filter((e) => g === "all" || e[0] === g) : mergeTop(tokens, g),
    });
    for (let l = 0; l < L; l++) if (sh[l]! > max) max = sh[l]!;
  }
  const ss = mean(shares, L + C + 1);
  for (let l = 0; l < L; l++) if (ss[l]! > max) max = ss[l]!;
  const sLift = [...liftOf(ss.slice(0, L + C), base), null].slice(0, W);
  let sDominant = dominantByRule(ss, sLift, classes, rule?.selection ?? null);
  if (g === "all" && rule && data.summary && data.summary.tokens === n) {
    const c = data.summary.dominant === null ? -1 : classes.indexOf(data.summary.dominant);
    sDominant =
      c < 0
        ? { language: null, share: 0, lift: null }
        : { language: data.summary.dominant, share: ss[c]!, lift: sLift[c] ?? null };
  }
  const maskedSet = new Set(data.masked);
  const columns: HeatColumn[] =
    L === 0
      ? []
      : [
          ...classes.map(
            (id, c): HeatColumn => ({
              id,
              kind: c < L ? "language" : "control",
              label: className(id),
              masked: c < L && maskedSet.has(id),
              baseline: base?.[c] ?? null,
            }),
          ),
          { id: UNOWNED_ID, kind: "unowned", label: className(UNOWNED_ID), masked: false, baseline: null },
        ];
  return {
    languages: [...data.languages],
    controls,
    columns,
    masked: data.languages.map((l) => maskedSet.has(l)),
    group: g,
    groups: data.groups,
    tokenCount: n,
    tokensPerRow: per,
    rows,
    summary: {
      tokens: n,
      values: ss.slice(0, L),
      shares: ss.slice(0, W),
      lift: sLift,
      dominant: sDominant,
      unowned: ss[L + C] ?? 0,
    },
    hasLift: base !== null,
    rule,
    max,
  };
}

// ---- fixed colour scales, comparable across views ----

/** Lift: log scale from 1× (no colour) to LIFT_TOP (full colour); below 1× no colour. */
export const LIFT_TOP = 8;
/** Share of a class: linear from 0 to SHARE_TOP (full colour; above it, full colour too). */
export const SHARE_TOP = 0.25;

/** Where a cell's value sits on its fixed scale, in [0, 1]. "No language" is a share from 0 to 100 %. */
export function scalePosition(
  metric: Metric,
  kind: HeatColumn["kind"],
  share: number,
  lift: number | null,
): number {
  const clamp = (x: number) => (Number.isFinite(x) ? Math.max(0, Math.min(1, x)) : 0);
  if (kind === "unowned") return clamp(share);
  if (metric === "lift" && lift !== null) return lift <= 1 ? 0 : clamp(Math.log2(lift) / Math.log2(LIFT_TOP));
  return clamp(share / SHARE_TOP);
}

/** A lift for a small cell, with its unit: "0×", "0.4×", "3.2×", "12×". */
export function liftLabel(x: number): string {
  if (!(x > 0)) return "0×";
  if (x >= 9.95) return `${x.toFixed(0)}×`;
  return `${x.toFixed(1)}×`;
}

/** A cell's text with its unit: a lift ("3.2×") or a share ("24%"). */
export function cellLabel(
  metric: Metric,
  kind: HeatColumn["kind"],
  share: number,
  lift: number | null,
): string {
  if (metric === "lift" && kind !== "unowned" && lift !== null) return liftLabel(lift);
  return `${percentLabel(share)}%`;
}

/** A share as a percentage for a small cell: "24", "6.7", "0.4", "0". */
export function percentLabel(v: number): string {
  const p = v * 100;
  if (p <= 0) return "0";
  if (p >= 9.95) return p.toFixed(0);
  return p.toFixed(1);
}

export interface TextRun {
  text: string;
  /** Whitespace shown as a visible mark. */
  ws: boolean;
}

const WS_MARKS: Readonly<Record<string, string>> = {
  " ": "·",
  "\t": "→",
  "\n": "↵",
  "\r": "␍",
  "\u00a0": "⍽",
};

/** A token's text with its whitespace made visible, as runs (whitespace marks drawn dimmer). */
export function visibleRuns(text: string, maxChars = 80): TextRun[] {
  const runs: TextRun[] = [];
  let count = 0;
  for (const ch of text) {
    if (count++ >= maxChars) {
      runs.push({ text: "…", ws: false });
      break;
    }
    const mark = WS_MARKS[ch];
    const ws = mark !== undefined;
    const shown =
      mark ?? (ch < " " || ch === "\u007f" ? `\\x${ch.charCodeAt(0).toString(16).padStart(2, "0")}` : ch);
    const last = runs[runs.length - 1];
    if (last && last.ws === ws) last.text += shown;
    else runs.push({ text: shown, ws });
  }
  if (runs.length === 0) runs.push({ text: "∅", ws: true });
  return runs;
}

export function visibleText(text: string, maxChars = 80): string {
  return visibleRuns(text, maxChars)
    .map((r) => r.text)
    .join("");
}
