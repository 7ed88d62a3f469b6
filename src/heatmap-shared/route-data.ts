// The data the routing view draws: `monet-lens route --json` (made by
// src/atlas/route-shares.ts) and the A/B comparison's two greedy continuations. Types only
// (erased from the webview bundle): shared by the extension, the CLI, the webview and the tests.

/** [group, head, i, j, score g1[h,i]·g2[h,j], owning language or null]. */
export type TopExpert = [number, number, number, number, number, string | null];

/** The JSON of `monet-lens route --json` (and the heatmap's input). */
export interface RouteJson {
  model: string;
  atlas: string | null;
  languages: string[];
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
    dominant: string | null;
    /** The strongest unmasked experts, top 3 per group, by group then score. */
    top: TopExpert[];
  }>;
}

/** What `monet-lens route --json` prints; the heatmap draws it as is. */
export type RouteData = RouteJson;
export type RouteToken = RouteJson["tokens"][number];

export interface Continuation {
  text: string;
  ids: number[];
  pieces: string[];
}

export interface CompareData {
  plain: Continuation;
  masked: Continuation;
}
