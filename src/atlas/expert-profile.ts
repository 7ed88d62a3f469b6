// An expert card's routing profile: the expert's mean score per atlas class against its
// mean over the whole atlas corpus, and a class's strongest experts, from the atlas's
// expert statistics (expert-stats.ts).
import { type Atlas, AtlasError, atlasClasses, atlasStatsPath, classSets } from "./atlas-file";
import { expertOwner, type ExpertId, formatExpertId } from "./expert-id";
import { dequantizeScore, ExpertStatsFile } from "./expert-stats";

/** The atlas's expert statistics, opened and checked, or a clear error saying why there are none. */
export function openExpertStats(atlasPath: string, atlas: Atlas): ExpertStatsFile {
  const path = atlasStatsPath(atlasPath, atlas);
  if (!path || !atlas.stats)
    throw new AtlasError(
      `${atlasPath} has no expert statistics (an atlas built before Monet Lens kept them, or with --contexts 0); rebuild it with monet-lens atlas build`,
    );
  return ExpertStatsFile.open(path, {
    id: atlas.stats.id,
    fingerprint: atlas.model.fingerprint,
    groups: atlas.model.config.routingGroups,
    experts: atlas.model.config.moeExperts,
  });
}

export interface ClassScore {
  id: string;
  kind: "language" | "control";
  /** The expert's mean score Σ_h g1·g2 per token of this class. */
  mean: number;
  /** mean ÷ the expert's pooled mean (1: as on any token of the corpus). */
  lift: number;
  /** The class's baseline share (its experts' mean share of a token's mass), for context. */
  baseline: number | null;
}

export interface ExpertProfile {
  expert: string;
  group: number;
  i: number;
  j: number;
  owner: { id: string; kind: "language" | "control" } | null;
  /** The expert's mean score over all the atlas corpus's tokens pooled. */
  pooledMean: number;
  /** Its mean share of a token's routing mass in its group: pooledMean ÷ H. */
  pooledShare: number;
  /** Classes, highest mean first. */
  classes: ClassScore[];
}

export function expertProfile(atlas: Atlas, stats: ExpertStatsFile, x: ExpertId): ExpertProfile {
  const E = atlas.model.config.moeExperts;
  const values = stats.profile(x.group, x.i * E + x.j);
  const pooled = stats.pooledMean(values);
  const classes = stats.classes.map((id, c) => {
    const b = atlas.baselines?.get(id);
    return {
      id,
      kind: (atlas.controls.includes(id) ? "control" : "language") as ClassScore["kind"],
      mean: values[c]!,
      lift: pooled > 0 ? values[c]! / pooled : 0,
      baseline: b ? b[x.group]! : null,
    };
  });
  classes.sort((a, b) => b.mean - a.mean);
  return {
    expert: formatExpertId(x),
    ...x,
    owner: expertOwner(atlas, x),
    pooledMean: pooled,
    pooledShare: pooled / atlas.model.config.moeHeads,
    classes,
  };
}

export interface RankedExpert {
  expert: string;
  group: number;
  i: number;
  j: number;
  /** Mean score in the language, the expert's pooled mean, and their ratio. */
  mean: number;
  pooledMean: number;
  lift: number;
  /** The class with the next-highest mean, and how many times higher the language's mean is. */
  next: { id: string; mean: number } | null;
  ratio: number;
}

/**
 * A class's strongest experts: among the experts the atlas gives it (every group), the
 * `top` with the highest mean score in it (`by: "score"`) or the highest lift over their
 * pooled mean (`by: "lift"`).
 */
export function strongestExperts(
  atlas: Atlas,
  stats: ExpertStatsFile,
  cls: string,
  opts: { top?: number; by?: "score" | "lift" } = {},
): RankedExpert[] {
  const sets = classSets(atlas, cls);
  if (!sets)
    throw new AtlasError(`the atlas has no class ${cls}; its classes are ${atlasClasses(atlas).join(", ")}`);
  const c = stats.classes.indexOf(cls);
  if (c < 0) throw new AtlasError(`the expert statistics have no profile for ${cls}`);
  const E = atlas.model.config.moeExperts;
  const C = stats.classes.length;
  const by = opts.by ?? "score";
  const out: RankedExpert[] = [];
  sets.forEach((set, g) => {
    const profile = stats.groupProfile(g);
    for (const e of set) {
      const values = Array.from(profile.subarray(e * C, (e + 1) * C), dequantizeScore);
      const pooled = stats.pooledMean(values);
      let next = -1;
      for (let k = 0; k < C; k++) if (k !== c && (next < 0 || values[k]! > values[next]!)) next = k;
      const mean = values[c]!;
      out.push({
        expert: formatExpertId({ group: g, i: Math.floor(e / E), j: e % E }),
        group: g,
        i: Math.floor(e / E),
        j: e % E,
        mean,
        pooledMean: pooled,
        lift: pooled > 0 ? mean / pooled : 0,
        next: next >= 0 ? { id: stats.classes[next]!, mean: values[next]! } : null,
        ratio: next >= 0 && values[next]! > 0 ? mean / values[next]! : Infinity,
      });
    }
  });
  const key = by === "lift" ? (r: RankedExpert) => r.lift : (r: RankedExpert) => r.mean;
  out.sort((a, b) => key(b) - key(a) || a.group - b.group || a.i - b.i || a.j - b.j);
  return out.slice(0, opts.top ?? 20);
}
