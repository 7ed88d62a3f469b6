// The data the routing view draws: `monet-lens route --json` (src/atlas/route-shares.ts,
// RouteJson) and the A/B comparison's two greedy continuations. Types only: shared by the
// extension, the webview bundle and the tests.

/** [group, head, i, j, score g1[h,i]·g2[h,j], owning language or null]. */
export type TopExpert = [number, number, number, number, number, string | null];

export interface RouteToken {
  id: number;
  text: string;
  piece: string;
  /** [start, end) UTF-16 offsets into the routed text. */
  span: [number, number];
  /** Per language (RouteData.languages order), mean over routing groups. */
  shares: number[];
  /** [group][language]. */
  groupShares: number[][];
  dominant: string | null;
  /** The strongest unmasked experts, top 3 per group, by group then score. */
  top: TopExpert[];
}

export type RouteData = {
  model: string;
  atlas: string | null;
  languages: string[];
  masked: string[];
  groups: number;
  /** BOS is not included. */
  tokens: RouteToken[];
};

export interface Continuation {
  text: string;
  ids: number[];
  pieces: string[];
}

export interface CompareData {
  plain: Continuation;
  masked: Continuation;
}
