// The data the routing view draws: `monet-lens route --json` (src/atlas/route-shares.ts,
// RouteJson) and the A/B comparison's two greedy continuations. Types only (erased from the
// webview bundle): shared by the extension, the webview and the tests.

import type { RouteJson, TopExpert } from "../atlas/route-shares";

export type { TopExpert };
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
