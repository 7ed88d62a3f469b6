// The data the routing view draws: `monet-lens route --json` (made by
// src/atlas/route-shares.ts) and the A/B comparison's two greedy continuations. Types only
// (erased from the webview bundle): shared by the extension, the CLI, the webview and the tests.

/** [group, head, i, j, score g1[h,i]·g2[h,j], owning class (language or control) or null]. */
export type TopExpert = [number, number, number, number, number, string | null];

/** A class's dominance thresholds (src/atlas/dominance.ts applies them). */
export interface DominanceThresholds {
  /** The class's lift (share ÷ baseline) is at least this. */
  minLift: number;
  /** …and at least this many times the second-highest lift. */
  minRatio: number;
}

/** The dominance rule as data, for `route --json` and the heatmap's legend. */
export interface DominanceRule {
  token: DominanceThresholds;
  selection: DominanceThresholds;
  /** The rule in one sentence. */
  text: string;
}

/**
 * The JSON of `monet-lens route --json` (and the heatmap's input). The optional fields came
 * with version-2 atlases (control classes, baselines, lift, dominance): routeJson always
 * fills them, but they are optional in the type so that data made before them (and
 * hand-made test data) still type-checks.
 */
export interface RouteJson {
  model: string;
  atlas: string | null;
  /** The atlas's programming languages: `shares`, `lift`, `baseline`… follow this order. */
  languages: string[];
  /** Its control classes (e.g. "plaintext"): the `control…` fields follow this order. */
  controls?: string[];
  /** Per language: its baseline share (mean over groups), null without baselines (a version-1 atlas). */
  baseline?: number[] | null;
  controlBaseline?: number[] | null;
  /** [group][language] and [group][control]. */
  groupBaseline?: number[][] | null;
  groupControlBaseline?: number[][] | null;
  /** When a class is called dominant (dominance.ts), as data for a legend. */
  dominance?: DominanceRule;
  masked: string[];
  groups: number;
  /** BOS is not included. */
  tokens: Array<{
    id: number;
    text: string;
    piece: string;
    /** [start, end) UTF-16 offsets into the routed text. */
    span: [number, number];
    /** Per language (`languages` order), mean over routing groups. */
    shares: number[];
    /** [group][language]. */
    groupShares: number[][];
    /** Per control class, and [group][control]. */
    controlShares?: number[];
    groupControlShares?: number[][];
    /** Share of the routing mass held by no atlas class (mean over groups, and per group). */
    unowned?: number;
    groupUnowned?: number[];
    /** Per language and per control class: share ÷ baseline (null without baselines). */
    lift?: number[] | null;
    controlLift?: number[] | null;
    /** A language or control class id under the token rule, or null. */
    dominant: string | null;
    /** The strongest unmasked experts, top 3 per group, by group then score. */
    top: TopExpert[];
  }>;
  /** The whole routed text: mean shares over its tokens, their lift, and the dominant class under the selection rule. */
  summary?: {
    tokens: number;
    shares: number[];
    controlShares: number[];
    unowned: number;
    lift: number[] | null;
    controlLift: number[] | null;
    dominant: string | null;
  };
}

/** What `monet-lens route --json` prints; the heatmap draws it as is. */
export type RouteData = RouteJson;
export type RouteToken = RouteJson["tokens"][number];

export interface Continuation {
  text: string;
  ids: number[];
  pieces: string[];
  /**
   * Per token, its log-probability (natural log) under the side's own setting and under the
   * other side's, each given the prompt and the tokens before it in this continuation.
   */
  logprobs?: { own: number[]; other: number[] };
}

export interface CompareData {
  plain: Continuation;
  masked: Continuation;
}
