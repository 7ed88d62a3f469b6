// Expert masks from an atlas: the experts of the chosen languages, in every routing group.
import { masksFromExperts, type ExpertMasks } from "../engine/masks";
import { AtlasError, type Atlas } from "./atlas-file";

/** Parses "python, lua" into ids, rejecting empty items. */
export function parseLanguageList(text: string): string[] {
  const langs = text.split(",").map((s) => s.trim());
  if (langs.length === 0 || langs.some((s) => s === ""))
    throw new AtlasError(`"${text}" is not a comma-separated list of languages (e.g. python,lua)`);
  return [...new Set(langs)];
}

export function atlasMasks(atlas: Atlas, languages: readonly string[]): ExpertMasks {
  const unknown = languages.filter((l) => !atlas.sets.has(l));
  if (unknown.length > 0) {
    throw new AtlasError(
      `the atlas has no experts for ${unknown.join(", ")}; its languages are ${atlas.languages.join(", ")}`,
    );
  }
  const perGroup = Array.from({ length: atlas.model.config.routingGroups }, (_, g) => {
    const sets = languages.map((l) => atlas.sets.get(l)![g]!);
    const all = new Uint32Array(sets.reduce((n, s) => n + s.length, 0));
    let at = 0;
    for (const s of sets) {
      all.set(s, at);
      at += s.length;
    }
    return all;
  });
  return masksFromExperts(perGroup, atlas.model.config.moeExperts, languages.join(", "));
}
