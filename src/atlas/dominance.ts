// When a class (a language, or a control class such as prose) counts as dominant for a
// token or a selection: only when it stands clearly above its own baseline and above every
// other class. Shares alone mislead: each language owns 2–4 % of a group's experts and
// most of a token's routing mass goes to experts no class owns, so a "largest share" is
// usually chance. The thresholds were measured on held-out files of the atlas corpus
// (`monet-lens atlas dominance`, docs/atlas.md "Dominance").

import type { DominanceRule, DominanceThresholds } from "../heatmap-shared/route-data";

export type { DominanceRule, DominanceThresholds };

export function describeRule(token: DominanceThresholds, selection: DominanceThresholds): string {
  const part = (t: DominanceThresholds) => `lift ≥ ${t.minLift}× and ≥ ${t.minRatio}× the next class's lift`;
  return `A class is dominant when its lift (its share of the routing mass ÷ its baseline, the mean share over the atlas corpus) is well above every other class's: for a token ${part(token)}; for a selection (mean shares over its tokens) ${part(selection)}. Otherwise no class is dominant.`;
}

const TOKEN: DominanceThresholds = { minLift: 3, minRatio: 1.5 };
const SELECTION: DominanceThresholds = { minLift: 2, minRatio: 1.5 };

export const DOMINANCE: DominanceRule = {
  token: TOKEN,
  selection: SELECTION,
  text: describeRule(TOKEN, SELECTION),
};

export { dominantClass } from "../heatmap-shared/dominance-rule";
