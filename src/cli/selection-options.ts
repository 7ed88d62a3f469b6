// --mask LANG,... (the atlas's experts for those languages, in every routing group) and
// --mask-file FILE (expert indices per group), turned into the engine's Steering through the
// one resolver (src/atlas/steering-selection.ts). --atlas FILE picks the atlas; without it,
// the atlas shipped for the model being run.
import { findAtlas, noAtlasMessage, type ResolvedAtlas } from "../atlas/atlas-store";
import { maskLanguages, parseLanguageList, resolveSteering } from "../atlas/steering-selection";
import type { Engine } from "../engine/engine";
import { readSteeringFile, type Steering } from "../engine/steering";
import { UsageError } from "./args";
import type { OptionSpecs, OptionValues } from "./command";

export const ATLAS_OPTION = {
  atlas: {
    type: "string",
    value: "FILE",
    help: "the language atlas (default: the one shipped for the model, in models/atlases/)",
  },
} as const satisfies OptionSpecs;

export const SELECTION_OPTIONS = {
  mask: {
    type: "string",
    value: "LANG,...",
    help: "mask these languages' experts (from the atlas) in every routing group",
  },
  "mask-file": {
    type: "string",
    value: "FILE",
    help: 'mask the experts listed in FILE: JSON {"experts": E, "groups": [[i·E + j, ...], ...]}',
  },
  ...ATLAS_OPTION,
} as const satisfies OptionSpecs;

export type SelectionValues = OptionValues<typeof SELECTION_OPTIONS>;

/** The atlas for the engine's model: --atlas FILE (checked), else the shipped one, else undefined. */
export function atlasForCli(engine: Engine, atlasPath?: string): ResolvedAtlas | undefined {
  return findAtlas(engine.identity, atlasPath);
}

/** What --mask, --mask-file and --atlas select. */
export interface CliSelection {
  /** undefined: nothing is steered. */
  steering: Steering | undefined;
  /** The masked languages (--mask), for the route JSON. */
  languages: string[];
  /** What is masked, for people and the JSON's "masked" field ("" when nothing is). */
  description: string;
  /** The atlas --mask used, or --atlas FILE's (undefined when neither was given). */
  atlas: ResolvedAtlas | undefined;
}

/** The steering the options ask for. A wrong or damaged --atlas is reported even without --mask. */
export function selectionFromOptions(engine: Engine, values: SelectionValues): CliSelection {
  if (values["mask-file"] && values.mask)
    throw new UsageError("use either --mask LANG,... or --mask-file FILE, not both");
  if (values.mask) {
    const languages = parseLanguageList(values.mask);
    const atlas = atlasForCli(engine, values.atlas);
    if (!atlas) throw new Error(noAtlasMessage(engine.identity));
    const { steering } = resolveSteering(atlas.atlas, maskLanguages(languages), { unknown: "reject" });
    return { steering, languages, description: languages.join(", "), atlas };
  }
  const atlas = values.atlas ? atlasForCli(engine, values.atlas) : undefined;
  if (values["mask-file"]) {
    const steering = readSteeringFile(values["mask-file"], engine.routingGroups, engine.config.moeExperts);
    return { steering, languages: [], description: steering.label, atlas };
  }
  return { steering: undefined, languages: [], description: "", atlas };
}
