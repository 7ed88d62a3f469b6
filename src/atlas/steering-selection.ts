// What to steer, by name, and the one resolver from (atlas, selection) to the engine's
// Steering (src/engine/steering.ts), used by the CLI, the extension (completion, the heatmap,
// the A/B view) and the atlas evaluation. A selection is a value that grows by optional
// fields: languages now, each with a scale (0 masks its experts); per-expert entries
// ({group, index, scale}) and named expert sets resolve here into the same Steering later.
import { type Steering, steeringFromScaledExperts } from "../engine/steering";
import { MAX_STEER_SCALE } from "../heatmap-shared/steer";
import { AtlasError, type Atlas } from "./atlas-file";

export interface SteeringSelection {
  /** Language id → the scale of that language's experts in every routing group (0 masks them). */
  readonly languages?: Readonly<Record<string, number>>;
}

export interface ResolveOptions {
  /**
   * Languages the atlas does not have (or any language, without an atlas): "reject" throws,
   * naming the atlas's languages (the CLI); "ignore" leaves them out and lists them in
   * `ignored` (the extension, whose masked languages outlive a change of atlas).
   */
  unknown: "reject" | "ignore";
}

export interface ResolvedSteering {
  steering: Steering;
  /** The selection's languages that the steering applies, in the selection's order. */
  applied: string[];
  /** The selection's languages left out (unknown: "ignore"). */
  ignored: string[];
}

/** The selection that masks `languages` (scale 0). */
export function maskLanguages(languages: Iterable<string>): SteeringSelection {
  return { languages: Object.fromEntries([...languages].map((l) => [l, 0])) };
}

/** The selection's masked languages (scale 0), in its order. */
export function maskedLanguages(selection: SteeringSelection): string[] {
  return Object.entries(selection.languages ?? {}).flatMap(([l, s]) => (s === 0 ? [l] : []));
}

/** Parses "python, lua" into ids, rejecting empty items. */
export function parseLanguageList(text: string): string[] {
  const langs = text.split(",").map((s) => s.trim());
  if (langs.length === 0 || langs.some((s) => s === ""))
    throw new AtlasError(`"${text}" is not a comma-separated list of languages (e.g. python,lua)`);
  return [...new Set(langs)];
}

/** The largest scale a person may give a language (the CLI, the extension, the view share it). */
export const MAX_LANGUAGE_SCALE = MAX_STEER_SCALE;

/**
 * Parses "python=0, rust=1.5" into language → scale. Each item is LANG=SCALE with a finite
 * scale in [0, MAX_LANGUAGE_SCALE] (0 masks, 1 changes nothing, above 1 amplifies); a
 * language given twice must have one scale.
 */
export function parseLanguageScales(text: string): Record<string, number> {
  const example = "(e.g. python=0,rust=1.5)";
  const items = text.split(",").map((s) => s.trim());
  if (items.some((s) => s === ""))
    throw new AtlasError(`"${text}" is not a comma-separated list of LANG=SCALE ${example}`);
  const out: Record<string, number> = {};
  for (const item of items) {
    const m = /^([^=\s]+)\s*=\s*(\S+)$/.exec(item);
    if (!m) throw new AtlasError(`"${item}" is not LANG=SCALE ${example}`);
    const [, lang, raw] = m as unknown as [string, string, string];
    const scale = /^[+]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(raw) ? Number(raw) : NaN;
    if (raw.startsWith("-") && Number.isFinite(Number(raw)))
      throw new AtlasError(`${lang}=${raw}: a scale cannot be negative (0 masks a language's experts)`);
    if (!Number.isFinite(scale))
      throw new AtlasError(`${lang}=${raw}: the scale must be a finite number ≥ 0 ${example}`);
    if (scale > MAX_LANGUAGE_SCALE)
      throw new AtlasError(`${lang}=${raw}: the scale must be at most ${MAX_LANGUAGE_SCALE}`);
    if (Object.hasOwn(out, lang) && out[lang] !== scale)
      throw new AtlasError(`${lang} is given two scales (${out[lang]} and ${scale})`);
    out[lang] = scale;
  }
  return out;
}

/**
 * One selection from masked languages and scaled ones (the CLI's --mask and --steer): a
 * language in both must be scaled to 0 in --steer too.
 */
export function combineLanguageSelections(
  masked: readonly string[],
  scales: Readonly<Record<string, number>>,
): SteeringSelection {
  const languages: Record<string, number> = { ...scales };
  for (const l of masked) {
    if (Object.hasOwn(scales, l) && scales[l] !== 0)
      throw new AtlasError(`${l} is both masked (--mask) and scaled to ${scales[l]} (--steer)`);
    languages[l] = 0;
  }
  return { languages };
}

/** For people: "−python" for a masked language, "rust×1.5" for a scaled one. */
export function languageLabel(language: string, scale: number): string {
  return scale === 0 ? `−${language}` : `${language}×${Number(scale.toPrecision(4))}`;
}

export function resolveSteering(
  atlas: Atlas | undefined,
  selection: SteeringSelection,
  opts: ResolveOptions,
): ResolvedSteering {
  const wanted = Object.entries(selection.languages ?? {});
  const known = (l: string) => atlas?.sets.has(l) === true;
  const ignored = wanted.flatMap(([l]) => (known(l) ? [] : [l]));
  if (ignored.length > 0 && opts.unknown === "reject") {
    throw new AtlasError(
      atlas
        ? `the atlas has no experts for ${ignored.join(", ")}; its languages are ` +
            `${atlas.languages.join(", ")}`
        : `there is no language atlas for ${ignored.join(", ")}`,
    );
  }
  const used = wanted.filter(([l]) => known(l));
  const groups = atlas?.model.config.routingGroups ?? 0;
  const experts = atlas?.model.config.moeExperts ?? 1;
  const perGroup = Array.from({ length: groups }, (_, g) =>
    used.flatMap(([l, scale]) => Array.from(atlas!.sets.get(l)![g]!, (e) => [e, scale] as const)),
  );
  const label = used.map(([l, scale]) => languageLabel(l, scale)).join(", ");
  return {
    steering: steeringFromScaledExperts(perGroup, experts, label),
    applied: used.map(([l]) => l),
    ignored,
  };
}
