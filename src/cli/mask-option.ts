// --mask LANG,... (needs a language atlas) and --mask-file FILE (expert indices per group).
import type { Engine } from "../engine/engine";
import { readMaskFile, type ExpertMasks } from "../engine/masks";
import { UsageError } from "./args";

export function loadMasksForCli(engine: Engine, values: { mask?: string; "mask-file"?: string; atlas?: string }): ExpertMasks | undefined {
  if (values["mask-file"]) return readMaskFile(values["mask-file"], engine.routingGroups, engine.config.moeExperts);
  if (values.mask) {
    throw new UsageError(`--mask ${values.mask} needs a language atlas, which this version cannot build yet; use --mask-file FILE with {"experts": ${engine.config.moeExperts}, "groups": [[expert indices], ...]}`);
  }
  return undefined;
}
