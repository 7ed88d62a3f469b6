// What the routing heatmap draws, per token: the share of the token's routing mass that
// goes to each language's experts (per routing group and averaged over groups), the
// dominant language, and the token's strongest experts. Pure data preparation over the
// engine's routing arrays and an atlas, shared by `monet-lens route` and the extension.
//
// A token's routing mass in a group is Σ_h Σ_{i,j} g1[h,i]·g2[h,j] = H (each head's g1 and
// g2 sum to 1). Under steering each expert's score is scaled by S[i, j] and nothing is
// renormalised (monet-math.md): masked experts (S = 0) count for no language and the shares
// then sum to less than 1.
import { scaleMatrix, type Steering } from "../engine/steering";
import type { RouteJson, TopExpert } from "../heatmap-shared/route-data";
import type { Atlas } from "./atlas-file";

export type { RouteJson, TopExpert };

export interface ExpertOwners {
  languages: string[];
  experts: number;
  /** Per routing group, E² entries: index into `languages`, or -1. */
  groups: Int16Array[];
}

export function expertOwners(atlas: Atlas): ExpertOwners {
  const E = atlas.model.config.moeExperts;
  const groups = Array.from({ length: atlas.model.config.routingGroups }, (_, g) => {
    const owner = new Int16Array(E * E).fill(-1);
    atlas.languages.forEach((lang, li) => {
      for (const e of atlas.sets.get(lang)![g]!) owner[e] = li;
    });
    return owner;
  });
  return { languages: [...atlas.languages], experts: E, groups };
}

export interface RoutingShape {
  tokens: number;
  heads: number;
  experts: number;
  groups: number;
}

export interface TokenShares {
  /** Per language (owners' order): mean over groups of groupShares. */
  shares: number[];
  /** [group][language]. */
  groupShares: number[][];
  dominant: string | null;
  /** The `topK` strongest unmasked experts of each group, by group then score. */
  top: TopExpert[];
}

export interface RoutingData {
  g1: ArrayLike<number>[];
  g2: ArrayLike<number>[];
}

/**
 * Shares and top experts of token `t`. `owners` may be undefined (no atlas: no shares);
 * `scales` holds per group the E² steering scales S (scaleMatrix; 0 = masked expert).
 */
export function tokenShares(
  routing: RoutingData,
  shape: RoutingShape,
  t: number,
  owners?: ExpertOwners,
  scales?: ArrayLike<number>[],
  topK = 3,
): TokenShares {
  const { heads: H, experts: E, groups: G } = shape;
  const L = owners?.languages.length ?? 0;
  if (owners && (owners.experts !== E || owners.groups.length !== G))
    throw new Error(
      `the atlas is for ${owners.groups.length} groups of ${owners.experts}² ` +
        `experts, the routing has ${G} of ${E}²`,
    );
  const groupShares: number[][] = [];
  const top: TopExpert[] = [];
  const i1 = new Int32Array(E);
  const i2 = new Int32Array(E);
  const v1 = new Float64Array(E);
  const v2 = new Float64Array(E);
  for (let g = 0; g < G; g++) {
    const g1 = routing.g1[g]!;
    const g2 = routing.g2[g]!;
    const own = owners?.groups[g];
    const scale = scales?.[g];
    const mass = new Float64Array(L);
    let total = 0;
    const best: TopExpert[] = [];
    for (let h = 0; h < H; h++) {
      const base = (t * H + h) * E;
      let n1 = 0;
      let n2 = 0;
      let s1 = 0;
      let s2 = 0;
      for (let e = 0; e < E; e++) {
        const a = g1[base + e]!;
        const b = g2[base + e]!;
        if (a !== 0) {
          i1[n1] = e;
          v1[n1++] = a;
          s1 += a;
        }
        if (b !== 0) {
          i2[n2] = e;
          v2[n2++] = b;
          s2 += b;
        }
      }
      total += s1 * s2;
      for (let a = 0; a < n1; a++) {
        for (let b = 0; b < n2; b++) {
          const cell = i1[a]! * E + i2[b]!;
          const k = scale ? scale[cell]! : 1;
          if (k === 0) continue;
          const s = v1[a]! * v2[b]! * k;
          const o = own ? own[cell]! : -1;
          if (o >= 0) mass[o]! += s;
          if (topK > 0 && (best.length < topK || s > best[best.length - 1]![4])) {
            const entry: TopExpert = [g, h, i1[a]!, i2[b]!, s, o >= 0 ? owners!.languages[o]! : null];
            let k = best.length;
            while (k > 0 && best[k - 1]![4] < s) k--;
            best.splice(k, 0, entry);
            if (best.length > topK) best.pop();
          }
        }
      }
    }
    groupShares.push(Array.from(mass, (m) => (total > 0 ? m / total : 0)));
    top.push(...best);
  }
  const shares = Array.from(
    { length: L },
    (_, l) => groupShares.reduce((s, gs) => s + gs[l]!, 0) / Math.max(G, 1),
  );
  let dominant: string | null = null;
  let max = 0;
  shares.forEach((s, l) => {
    if (s > max) {
      max = s;
      dominant = owners!.languages[l]!;
    }
  });
  return { shares, groupShares, dominant, top };
}

export interface RoutedInput {
  ids: readonly number[];
  spans: ReadonlyArray<readonly [number, number]>;
  pieces: readonly string[];
  routing: RoutingData;
  shape: RoutingShape;
}

/** Builds the route JSON for a routed text (BOS, at position 0, is left out). */
export function routeJson(opts: {
  model: string;
  atlasPath: string | null;
  text: string;
  routed: RoutedInput;
  owners?: ExpertOwners;
  /** The steering the text was routed under (its masked experts count for no language). */
  steering?: Steering;
  /** The masked languages, for the JSON's "masked". */
  masked?: string[];
  topK?: number;
  digits?: number;
}): RouteJson {
  const { routed, text } = opts;
  const scale = 10 ** (opts.digits ?? 6);
  const r = (x: number) => Math.round(x * scale) / scale;
  const tokens: RouteJson["tokens"] = [];
  const steering = opts.steering?.key ? opts.steering : undefined;
  const scales = steering && Array.from({ length: routed.shape.groups }, (_, g) => scaleMatrix(steering, g));
  for (let t = 1; t < routed.ids.length; t++) {
    const s = tokenShares(routed.routing, routed.shape, t, opts.owners, scales, opts.topK ?? 3);
    const span = routed.spans[t]!;
    tokens.push({
      id: routed.ids[t]!,
      text: text.slice(span[0], span[1]),
      piece: routed.pieces[t]!,
      span: [span[0], span[1]],
      shares: s.shares.map(r),
      groupShares: s.groupShares.map((gs) => gs.map(r)),
      dominant: s.dominant,
      top: s.top.map(([g, h, i, j, score, lang]) => [g, h, i, j, r(score), lang]),
    });
  }
  return {
    model: opts.model,
    atlas: opts.atlasPath,
    languages: opts.owners?.languages ?? [],
    masked: opts.masked ?? [],
    groups: routed.shape.groups,
    tokens,
  };
}
