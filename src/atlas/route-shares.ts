// What the routing heatmap draws, per token: the share of the token's routing mass that
// goes to each atlas class's experts (programming languages, and control classes such as
// prose; per routing group and averaged over groups), the share no class owns, each
// class's lift over its baseline, the dominant class under the dominance rule, and the
// token's strongest experts; and the same summarised over the selection. Pure data
// preparation over the engine's routing arrays and an atlas, shared by `monet-lens route`
// and the extension.
//
// A token's routing mass in a group is Σ_h Σ_{i,j} g1[h,i]·g2[h,j] = H (each head's g1 and
// g2 sum to 1). Under steering each expert's score is scaled by S[i, j] and nothing is
// renormalised (monet-math.md): masked experts (S = 0) count for no class and for "unowned"
// neither, so under masks shares + control shares + unowned + masked = 1.
import { scaleMatrix, type Steering } from "../engine/steering";
import type { RouteJson, TopExpert } from "../heatmap-shared/route-data";
import { type Atlas, atlasClasses, classSets } from "./atlas-file";
import { meanBaseline } from "./baselines";
import { DOMINANCE, type DominanceRule, dominantClass } from "./dominance";

export type { RouteJson, TopExpert };

export interface ExpertOwners {
  /** The atlas's programming languages. */
  languages: string[];
  /** Its control classes (none when absent). Classes are `languages` then `controls`. */
  controls?: string[];
  experts: number;
  /** Per routing group, E² entries: index into the classes, or -1. */
  groups: Int16Array[];
  /** [group][class] baselines, when the atlas has them (version 2). */
  baselines?: number[][];
}

/** The owners' classes: languages, then control classes. */
export function ownerClasses(owners: ExpertOwners): string[] {
  return [...owners.languages, ...(owners.controls ?? [])];
}

export function expertOwners(atlas: Atlas): ExpertOwners {
  const E = atlas.model.config.moeExperts;
  const G = atlas.model.config.routingGroups;
  const classes = atlasClasses(atlas);
  const groups = Array.from({ length: G }, (_, g) => {
    const owner = new Int16Array(E * E).fill(-1);
    classes.forEach((cls, ci) => {
      for (const e of classSets(atlas, cls)![g]!) owner[e] = ci;
    });
    return owner;
  });
  const baselines = atlas.baselines
    ? Array.from({ length: G }, (_, g) => classes.map((c) => atlas.baselines!.get(c)![g]!))
    : undefined;
  return { languages: [...atlas.languages], controls: [...atlas.controls], experts: E, groups, baselines };
}

/** share ÷ baseline per class; 0 where the baseline is 0. */
export function liftOf(shares: readonly number[], baselines: readonly number[]): number[] {
  return shares.map((s, c) => (baselines[c]! > 0 ? s / baselines[c]! : 0));
}

/** Per class, the baseline of the mean over groups. */
export function overallBaselines(owners: ExpertOwners): number[] | undefined {
  const b = owners.baselines;
  return b ? ownerClasses(owners).map((_, c) => meanBaseline(b.map((g) => g[c]!))) : undefined;
}

export interface RoutingShape {
  tokens: number;
  heads: number;
  experts: number;
  groups: number;
}

export interface TokenShares {
  /** Per class (owners' order): mean over groups of groupShares. */
  shares: number[];
  /** [group][class]. */
  groupShares: number[][];
  /** Share of the unmasked mass no class owns: mean over groups, and per group. */
  unowned: number;
  groupUnowned: number[];
  /** Per class, shares ÷ baselines (undefined without baselines). */
  lift?: number[];
  /** The dominant class under the token rule (dominance.ts), or null. */
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
  rule: DominanceRule = DOMINANCE,
): TokenShares {
  const { heads: H, experts: E, groups: G } = shape;
  const classes = owners ? ownerClasses(owners) : [];
  const L = classes.length;
  if (owners && (owners.experts !== E || owners.groups.length !== G))
    throw new Error(
      `the atlas is for ${owners.groups.length} groups of ${owners.experts}² ` +
        `experts, the routing has ${G} of ${E}²`,
    );
  const groupShares: number[][] = [];
  const groupUnowned: number[] = [];
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
    let none = 0;
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
          else none += s;
          if (topK > 0 && (best.length < topK || s > best[best.length - 1]![4])) {
            const entry: TopExpert = [g, h, i1[a]!, i2[b]!, s, o >= 0 ? classes[o]! : null];
            let k = best.length;
            while (k > 0 && best[k - 1]![4] < s) k--;
            best.splice(k, 0, entry);
            if (best.length > topK) best.pop();
          }
        }
      }
    }
    groupShares.push(Array.from(mass, (m) => (total > 0 ? m / total : 0)));
    groupUnowned.push(total > 0 ? none / total : 0);
    top.push(...best);
  }
  const shares = Array.from(
    { length: L },
    (_, l) => groupShares.reduce((s, gs) => s + gs[l]!, 0) / Math.max(G, 1),
  );
  const unowned = groupUnowned.reduce((a, b) => a + b, 0) / Math.max(G, 1);
  const base = owners && overallBaselines(owners);
  const lift = base && liftOf(shares, base);
  const dominant = owners ? dominantClass(lift, classes, rule.token) : null;
  return { shares, groupShares, unowned, groupUnowned, lift, dominant, top };
}

export interface RoutedInput {
  ids: readonly number[];
  spans: ReadonlyArray<readonly [number, number]>;
  pieces: readonly string[];
  routing: RoutingData;
  shape: RoutingShape;
}

/** The selection's summary: mean shares over `tokens`, their lift, the dominant class (selection rule). */
export function summarise(
  tokens: ReadonlyArray<Pick<TokenShares, "shares" | "unowned">>,
  owners: ExpertOwners | undefined,
  rule: DominanceRule = DOMINANCE,
): { shares: number[]; unowned: number; lift?: number[]; dominant: string | null } {
  const classes = owners ? ownerClasses(owners) : [];
  const L = classes.length;
  const n = tokens.length;
  const shares = Array.from({ length: L }, (_, c) =>
    n ? tokens.reduce((s, t) => s + t.shares[c]!, 0) / n : 0,
  );
  const unowned = n ? tokens.reduce((s, t) => s + t.unowned, 0) / n : 0;
  const base = owners && overallBaselines(owners);
  const lift = base && n ? liftOf(shares, base) : undefined;
  const dominant = owners ? dominantClass(lift, classes, rule.selection) : null;
  return { shares, unowned, lift, dominant };
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
  rule?: DominanceRule;
}): RouteJson {
  const { routed, text, owners } = opts;
  const rule = opts.rule ?? DOMINANCE;
  const scale = 10 ** (opts.digits ?? 6);
  const r = (x: number) => Math.round(x * scale) / scale;
  const rl = (x: number) => Math.round(x * 1e4) / 1e4;
  const nl = owners?.languages.length ?? 0;
  const langs = <T>(xs: readonly T[]) => xs.slice(0, nl);
  const ctrls = <T>(xs: readonly T[]) => xs.slice(nl);
  const all: TokenShares[] = [];
  const tokens: RouteJson["tokens"] = [];
  const steering = opts.steering?.key ? opts.steering : undefined;
  const scales = steering && Array.from({ length: routed.shape.groups }, (_, g) => scaleMatrix(steering, g));
  for (let t = 1; t < routed.ids.length; t++) {
    const s = tokenShares(routed.routing, routed.shape, t, owners, scales, opts.topK ?? 3, rule);
    all.push(s);
    const span = routed.spans[t]!;
    tokens.push({
      id: routed.ids[t]!,
      text: text.slice(span[0], span[1]),
      piece: routed.pieces[t]!,
      span: [span[0], span[1]],
      shares: langs(s.shares).map(r),
      groupShares: s.groupShares.map((gs) => langs(gs).map(r)),
      controlShares: ctrls(s.shares).map(r),
      groupControlShares: s.groupShares.map((gs) => ctrls(gs).map(r)),
      unowned: r(s.unowned),
      groupUnowned: s.groupUnowned.map(r),
      lift: s.lift ? langs(s.lift).map(rl) : null,
      controlLift: s.lift ? ctrls(s.lift).map(rl) : null,
      dominant: s.dominant,
      top: s.top.map(([g, h, i, j, score, lang]) => [g, h, i, j, r(score), lang]),
    });
  }
  const sum = summarise(all, owners, rule);
  const base = owners && overallBaselines(owners);
  return {
    model: opts.model,
    atlas: opts.atlasPath,
    languages: owners ? [...owners.languages] : [],
    controls: owners ? [...(owners.controls ?? [])] : [],
    baseline: base ? langs(base).map(r) : null,
    controlBaseline: base ? ctrls(base).map(r) : null,
    groupBaseline: owners?.baselines ? owners.baselines.map((g) => langs(g).map(r)) : null,
    groupControlBaseline: owners?.baselines ? owners.baselines.map((g) => ctrls(g).map(r)) : null,
    dominance: rule,
    masked: opts.masked ?? [],
    groups: routed.shape.groups,
    tokens,
    summary: {
      tokens: tokens.length,
      shares: langs(sum.shares).map(r),
      controlShares: ctrls(sum.shares).map(r),
      unowned: r(sum.unowned),
      lift: sum.lift ? langs(sum.lift).map(rl) : null,
      controlLift: sum.lift ? ctrls(sum.lift).map(rl) : null,
      dominant: sum.dominant,
    },
  };
}
