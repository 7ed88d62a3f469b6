// How far an atlas can be trusted, from what it records: the tokens each class was built
// from and the share of experts each class was given. Two signs of an atlas not to trust
// (thresholds measured in docs/atlas.md, "Quality"):
//   - few tokens: a class read from fewer than QUALITY.fewTokens tokens has labels that
//     change a lot with the sample (unstable, so unreliable);
//   - an implausible share: on the full corpus each language owns 1–5 % of a group's
//     experts; a class owning more than QUALITY.maxExpertShare means the rule had too
//     little to compare against (few classes, few tokens), not a real specialisation.
import type { Atlas } from "./atlas-file";

export const QUALITY = { fewTokens: 4096, maxExpertShare: 0.08 } as const;

export interface ClassQuality {
  kind: "language" | "control";
  tokens: number;
  /** Per routing group: the fraction of the group's experts the class owns. */
  expertShare: number[];
  /** Warnings about this class (empty when none). */
  notes: string[];
}

export interface AtlasQuality {
  /** "low" when any warning stands. */
  level: "ok" | "low";
  /** Warnings about the atlas as a whole, then information (left-out classes, no control class). */
  notes: string[];
  classes: Record<string, ClassQuality>;
}

const pct = (x: number) => `${(100 * x).toFixed(1)} %`;
const num = (n: number) => n.toLocaleString("en-US");

export function atlasQuality(
  atlas: Pick<Atlas, "languages" | "sets" | "controls" | "controlSets" | "corpus" | "model">,
): AtlasQuality {
  const cells = atlas.model.config.moeExperts ** 2;
  const classes: Record<string, ClassQuality> = {};
  let warnings = 0;
  const add = (id: string, kind: ClassQuality["kind"], sets: readonly ArrayLike<number>[]) => {
    const tokens = atlas.corpus.languages[id]?.tokens ?? 0;
    const expertShare = sets.map((s) => s.length / cells);
    const notes: string[] = [];
    if (tokens < QUALITY.fewTokens)
      notes.push(`few tokens (${num(tokens)} < ${num(QUALITY.fewTokens)}): labels unreliable`);
    const worst = Math.max(0, ...expertShare);
    if (worst > QUALITY.maxExpertShare)
      notes.push(
        `owns ${pct(worst)} of a group's experts (more than ${pct(QUALITY.maxExpertShare)}): too little to compare against, labels not specific`,
      );
    warnings += notes.length;
    classes[id] = { kind, tokens, expertShare, notes };
  };
  for (const l of atlas.languages) add(l, "language", atlas.sets.get(l) ?? []);
  for (const c of atlas.controls) add(c, "control", atlas.controlSets.get(c) ?? []);
  const notes: string[] = [];
  if (atlas.languages.length + atlas.controls.length < 3)
    notes.push(
      `only ${atlas.languages.length + atlas.controls.length} classes: an expert is labelled when it beats the one other class, so the sets are large and unspecific`,
    );
  warnings += notes.length;
  const omitted = Object.entries(atlas.corpus.omitted);
  if (omitted.length > 0)
    notes.push(
      `left out (too few tokens): ${omitted.map(([l]) => `${l} (${num(atlas.corpus.omittedTokens?.[l] ?? Number.parseInt(atlas.corpus.omitted[l]!, 10))} tokens)`).join(", ")}`,
    );
  if (atlas.controls.length === 0)
    notes.push(
      "no control class: experts that fire on prose (comments, licences, docs) may be labelled a language",
    );
  return { level: warnings > 0 ? "low" : "ok", notes, classes };
}

/** One line per warning, "lang: note", for logs and the CLI. */
export function qualityLines(q: AtlasQuality): string[] {
  return [...Object.entries(q.classes).flatMap(([id, c]) => c.notes.map((n) => `${id}: ${n}`)), ...q.notes];
}
