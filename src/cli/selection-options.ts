// --steer LANG=SCALE,... (the atlas's experts for those languages, in every routing group,
// scaled), --mask LANG,... (the same with scale 0) and --mask-file FILE (expert indices per
// group), turned into the engine's Steering through the one resolver
// (src/atlas/steering-selection.ts). --atlas FILE picks the atlas; without it, the atlas
// shipped for the model being run.
import { findAtlas, noAtlasMessage, type ResolvedAtlas } from "../atlas/atlas-store";
import {
  combineLanguageSelections,
  parseLanguageList,
  parseLanguageScales,
  resolveSteering,
} from "../atlas/steering-selection";
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

/** --steer: what it says in every command's --help. */
export const STEER_OPTION = {
  steer: {
    type: "string",
    value: "LANG=S,...",
    help:
      "scale these languages' experts (from the atlas) in every routing group: 0 masks them, 1 " +
      "changes nothing, above 1 amplifies (e.g. python=0,rust=1.5)",
  },
} as const satisfies OptionSpecs;

export const SELECTION_OPTIONS = {
  ...STEER_OPTION,
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

/** atlasForCli for the commands that need an atlas: none is an error; the one used is said on stderr. */
export function requireAtlasForCli(engine: Engine, atlasPath?: string): ResolvedAtlas {
  const resolved = atlasForCli(engine, atlasPath);
  if (!resolved) throw new Error(noAtlasMessage(engine.identity));
  process.stderr.write(`atlas: ${resolved.path}\n`);
  return resolved;
}

/** What --steer, --mask, --mask-file and --atlas select. */
export interface CliSelection {
  /** undefined: nothing is steered. */
  steering: Steering | undefined;
  /** The masked languages (--mask, and --steer's scale-0 ones), for the route JSON. */
  languages: string[];
  /** Language → scale (--steer and --mask together); {} for --mask-file or nothing. */
  scales: Record<string, number>;
  /**
   * What is masked, for the JSON's "masked" field ("" when nothing is): the masked languages
   * ("lua, php") for --mask alone, the steering's label ("−lua, rust×1.5") otherwise.
   */
  description: string;
  /** The atlas --mask used, or --atlas FILE's (undefined when neither was given). */
  atlas: ResolvedAtlas | undefined;
}

/** The steering the options ask for. A wrong or damaged --atlas is reported even without --mask. */
export function selectionFromOptions(engine: Engine, values: SelectionValues): CliSelection {
  if (values["mask-file"] && (values.mask || values.steer))
    throw new UsageError("use either --mask LANG,... / --steer LANG=S,... or --mask-file FILE, not both");
  if (values.mask || values.steer) {
    const masked = values.mask ? parseLanguageList(values.mask) : [];
    const selection = combineLanguageSelections(
      masked,
      values.steer ? parseLanguageScales(values.steer) : {},
    );
    const atlas = atlasForCli(engine, values.atlas);
    if (!atlas) throw new Error(noAtlasMessage(engine.identity));
    const { steering } = resolveSteering(atlas.atlas, selection, { unknown: "reject" });
    const scales = { ...selection.languages };
    const languages = Object.keys(scales).filter((l) => scales[l] === 0);
    const description = values.steer ? steering.label : languages.join(", ");
    return { steering: steering.key ? steering : undefined, languages, scales, description, atlas };
  }
  const atlas = values.atlas ? atlasForCli(engine, values.atlas) : undefined;
  if (values["mask-file"]) {
    const steering = readSteeringFile(values["mask-file"], engine.routingGroups, engine.config.moeExperts);
    return { steering, languages: [], scales: {}, description: steering.label, atlas };
  }
  return { steering: undefined, languages: [], scales: {}, description: "", atlas };
}
