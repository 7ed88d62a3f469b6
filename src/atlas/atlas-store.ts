// Where atlases are found: an explicit file, else one shipped in models/atlases/ whose
// model fingerprint matches the model being run.
import { existsSync, readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { checkAtlasModel, readAtlasFile, type Atlas, type ModelIdentity } from "./atlas-file";

export const ATLAS_SUFFIX = ".atlas.json";

/** The shipped atlas folder (models/atlases above this file, in src/, dist/ or a .vsix), if any. */
export function shippedAtlasDir(): string | undefined {
  let dir = __dirname;
  for (let i = 0; i < 6; i++) {
    const candidate = join(dir, "models", "atlases");
    if (existsSync(candidate)) return candidate;
    dir = dirname(dir);
  }
  return undefined;
}

export interface ResolvedAtlas {
  atlas: Atlas;
  path: string;
}

/**
 * The atlas for `model`: `explicit` when given (checked against the model), else the
 * first shipped atlas built for it, else undefined.
 */
export function findAtlas(
  model: ModelIdentity,
  explicit?: string,
  dir = shippedAtlasDir(),
): ResolvedAtlas | undefined {
  if (explicit) {
    const atlas = readAtlasFile(explicit);
    checkAtlasModel(atlas, model, explicit);
    return { atlas, path: explicit };
  }
  if (!dir || !existsSync(dir)) return undefined;
  for (const name of readdirSync(dir)
    .filter((n) => n.endsWith(ATLAS_SUFFIX))
    .sort()) {
    const path = join(dir, name);
    try {
      const atlas = readAtlasFile(path);
      if (atlas.model.fingerprint === model.fingerprint) return { atlas, path };
    } catch {
      // a damaged or foreign file there is not ours to use; an explicit --atlas reports it
    }
  }
  return undefined;
}

export function noAtlasMessage(model: ModelIdentity): string {
  return (
    `no language atlas for the model "${model.name}" (fingerprint ` +
    `${model.fingerprint.slice(0, 12)}…): build one with \`monet-lens atlas build --model DIR ` +
    `--corpus DIR --out FILE\` and pass --atlas FILE`
  );
}
