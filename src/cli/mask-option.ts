// --mask LANG,... (the atlas's experts for those languages, in every routing group) and
// --mask-file FILE (expert indices per group). --atlas FILE picks the atlas; without it,
// the atlas shipped for the model being run.
import type { Engine } from "../engine/engine";
import { readMaskFile, type ExpertMasks } from "../engine/masks";
import { findAtlas, noAtlasMessage, type ResolvedAtlas } from "../atlas/atlas-store";
import { atlasMasks, parseLanguageList } from "../atlas/masks";
import { modelIdentity } from "../atlas/model-identity";
import { UsageError } from "./args";

/** The atlas for the engine's model: --atlas FILE (checked), else the shipped one, else undefined. */
export function atlasForCli(engine: Engine, atlasPath?: string): ResolvedAtlas | undefined {
  return findAtlas(modelIdentity(engine), atlasPath);
}

export function loadMasksForCli(
  engine: Engine,
  values: { mask?: string; "mask-file"?: string; atlas?: string },
): ExpertMasks | undefined {
  if (values["mask-file"] && values.mask)
    throw new UsageError("use either --mask LANG,... or --mask-file FILE, not both");
  if (values["mask-file"])
    return readMaskFile(values["mask-file"], engine.routingGroups, engine.config.moeExperts);
  if (values.mask) return languageMasks(engine, values.mask, values.atlas).masks;
  if (values.atlas) atlasForCli(engine, values.atlas); // still report a wrong or damaged --atlas
  return undefined;
}

/** --mask LANG,...: the masks, the languages and the atlas they came from. */
export function languageMasks(
  engine: Engine,
  list: string,
  atlasPath?: string,
): { masks: ExpertMasks; languages: string[]; atlas: ResolvedAtlas } {
  const languages = parseLanguageList(list);
  const atlas = atlasForCli(engine, atlasPath);
  if (!atlas) throw new Error(noAtlasMessage(modelIdentity(engine)));
  return { masks: atlasMasks(atlas.atlas, languages), languages, atlas };
}
