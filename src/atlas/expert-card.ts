// An expert card's data for the routing view (src/heatmap-shared/expert-card-data.ts): the
// profile and the corpus contexts of one expert, and a class's strongest experts, from an
// atlas and its expert statistics.
import { basename } from "node:path";
import type { CardContext, ExpertCardData, ExpertListData } from "../heatmap-shared/expert-card-data";
import type { Atlas } from "./atlas-file";
import { type ContextSnippet, corpusContexts } from "./expert-contexts";
import type { ExpertId } from "./expert-id";
import { expertProfile, strongestExperts } from "./expert-profile";
import type { ExpertStatsFile } from "./expert-stats";

export const cardContext = (s: ContextSnippet): CardContext => ({
  path: s.path,
  line: s.line,
  score: s.score,
  before: s.before,
  token: s.token,
  after: s.after,
});

/** The card of expert `x` (`corpusRoot`: where the atlas corpus is, default the one it records). */
export function expertCardData(
  atlasPath: string,
  atlas: Atlas,
  stats: ExpertStatsFile,
  x: ExpertId,
  corpusRoot?: string,
): ExpertCardData {
  const profile = expertProfile(atlas, stats, x);
  const corpus = corpusContexts(atlasPath, atlas, stats, x, { root: corpusRoot });
  return {
    expert: profile.expert,
    group: x.group,
    i: x.i,
    j: x.j,
    owner: profile.owner,
    pooledMean: profile.pooledMean,
    pooledShare: profile.pooledShare,
    classes: profile.classes.map((k) => ({ id: k.id, kind: k.kind, mean: k.mean, lift: k.lift })),
    atlas: basename(atlasPath),
    contexts: corpus.contexts.map(cardContext),
    missing: corpus.missing,
  };
}

/** A class's `top` strongest experts (by mean score on its tokens), as the view lists them. */
export function expertListData(
  atlas: Atlas,
  stats: ExpertStatsFile,
  cls: string,
  top: number,
): ExpertListData {
  return {
    language: cls,
    by: "score",
    experts: strongestExperts(atlas, stats, cls, { top, by: "score" }).map((r) => ({
      expert: r.expert,
      mean: r.mean,
      lift: r.lift,
      next: r.next?.id ?? null,
      ratio: Number.isFinite(r.ratio) ? r.ratio : null,
    })),
  };
}
