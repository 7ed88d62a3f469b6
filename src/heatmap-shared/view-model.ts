// What the heatmap shows, prepared from route data (pure; used by the webview and tested
// on its own): per row, the share of routing mass going to each language's experts for
// the chosen view (the mean over routing groups, or one group), the dominant language,
// the strongest experts; a summary row (the selection's language mix); and, beyond
// `maxRows` tokens, consecutive tokens aggregated into one row each.
import type { RouteData, RouteToken, TopExpert } from "./route-data";

/** "all": mean over routing groups (RouteToken.shares); a number: that group alone. */
export type GroupChoice = "all" | number;

export interface Dominant {
  language: string | null;
  share: number;
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
  dominant: Dominant;
  /** Share owned by no language of the atlas (unspecialised or masked experts). */
  unowned: number;
  /** Strongest experts of the chosen group(s): top `perGroup` per group, by group then score. */
  top: TopExpert[];
}

export interface HeatSummary {
  tokens: number;
  values: number[];
  dominant: Dominant;
  unowned: number;
}

export interface HeatView {
  languages: string[];
  /** Per language: masked when the data was computed. */
  masked: boolean[];
  group: GroupChoice;
  groups: number;
  tokenCount: number;
  /** 1 = one row per token; more = consecutive tokens aggregated per row. */
  tokensPerRow: number;
  rows: HeatRow[];
  summary: HeatSummary;
  /** The largest value of any row or the summary (for the colour scale). */
  max: number;
}

/** Rows drawn one per token up to this many tokens; beyond it, tokens are aggregated. */
export const DEFAULT_MAX_ROWS = 4096;

/** A token's shares for the chosen view. */
export function tokenValues(token: RouteToken, group: GroupChoice, languages: number): number[] {
  const src = group === "all" ? token.shares : token.groupShares[group];
  return Array.from({ length: languages }, (_, l) => {
    const v = src?.[l];
    return typeof v === "number" && Number.isFinite(v) ? v : 0;
  });
}

/**
 * The language with the largest share; the first wins a tie; none when every share is 0 (route-shares.ts's
 * rule).
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
  return { language, share };
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

function unownedOf(values: readonly number[]): number {
  return Math.max(0, 1 - values.reduce((s, v) => s + v, 0));
}

export function buildHeatView(data: RouteData, group: GroupChoice, maxRows = DEFAULT_MAX_ROWS): HeatView {
  const L = data.languages.length;
  const g: GroupChoice =
    group === "all" || (Number.isInteger(group) && group >= 0 && group < data.groups) ? group : "all";
  const n = data.tokens.length;
  const per = n <= maxRows ? 1 : Math.ceil(n / Math.max(1, maxRows));
  const values = data.tokens.map((t) => tokenValues(t, g, L));
  const rows: HeatRow[] = [];
  let max = 0;
  for (let from = 0, index = 0; from < n; from += per, index++) {
    const to = Math.min(n, from + per);
    const v = per === 1 ? values[from]! : mean(values.slice(from, to), L);
    const tokens = data.tokens.slice(from, to);
    rows.push({
      index,
      from,
      to,
      text: tokens.map((t) => t.text).join(""),
      values: v,
      dominant: dominantOf(v, data.languages),
      unowned: unownedOf(v),
      top: per === 1 ? tokens[0]!.top.filter((e) => g === "all" || e[0] === g) : mergeTop(tokens, g),
    });
    for (const x of v) if (x > max) max = x;
  }
  const sv = mean(values, L);
  for (const x of sv) if (x > max) max = x;
  const maskedSet = new Set(data.masked);
  return {
    languages: [...data.languages],
    masked: data.languages.map((l) => maskedSet.has(l)),
    group: g,
    groups: data.groups,
    tokenCount: n,
    tokensPerRow: per,
    rows,
    summary: { tokens: n, values: sv, dominant: dominantOf(sv, data.languages), unowned: unownedOf(sv) },
    max,
  };
}

/** The top of the colour scale: a round number at or above `max` (1 when there is nothing to show). */
export function scaleTop(max: number): number {
  if (!(max > 0)) return 1;
  if (max >= 1) return 1;
  const steps = [0.01, 0.02, 0.025, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.6, 0.75, 0.8, 1];
  return steps.find((s) => s >= max - 1e-12) ?? 1;
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
