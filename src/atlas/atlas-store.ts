// Where atlases are found: an explicit file, else one shipped in models/atlases/ whose
// model fingerprint matches the model being run; and every candidate for a model (shipped,
// built from a workspace, or a file the user names) with its quality, for "Select Atlas…".
import { existsSync, readdirSync, statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { atlasStatsPath, checkAtlasModel, readAtlasFile, type Atlas, type ModelIdentity } from "./atlas-file";
import { type AtlasQuality, atlasQuality } from "./quality";

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

export interface AtlasCandidate {
  path: string;
  source: "shipped" | "workspace" | "file";
  /** Usable for the model: readable and built for it. */
  usable: boolean;
  /** Why not, when not usable (damaged, another model, missing). */
  problem?: string;
  /** The following are there when the file could be read. */
  modelName?: string;
  createdAt?: string;
  corpusRoot?: string;
  languages?: string[];
  controls?: string[];
  /** Training tokens per class. */
  tokens?: Record<string, number>;
  quality?: AtlasQuality;
  /** It has baselines (lift, dominance) and expert statistics (cards). */
  hasBaselines?: boolean;
  hasExpertStats?: boolean;
}

/**
 * Every atlas a user could pick for `model`: the shipped ones, those in the workspace
 * folders (e.g. the extension's storage of workspace-built atlases), and the files named;
 * each with what the picker shows (languages, tokens, quality notes) or why it cannot be
 * used. Shipped first, then workspace atlases newest first, then files in the given order.
 * Atlases of other models are listed only when named as files (to say why not).
 */
export function listAtlases(
  model: ModelIdentity,
  opts: { shippedDir?: string | null; workspaceDirs?: readonly string[]; files?: readonly string[] } = {},
): AtlasCandidate[] {
  const shippedDir = opts.shippedDir === null ? undefined : (opts.shippedDir ?? shippedAtlasDir());
  const inDir = (dir: string | undefined) =>
    dir && existsSync(dir)
      ? readdirSync(dir)
          .filter((n) => n.endsWith(ATLAS_SUFFIX))
          .sort()
          .map((n) => join(dir, n))
      : [];
  const out: AtlasCandidate[] = [];
  const seen = new Set<string>();
  const add = (path: string, source: AtlasCandidate["source"], keepForeign: boolean) => {
    const key = resolve(path);
    if (seen.has(key)) return;
    const c = describeCandidate(path, source, model);
    if (!c.usable && !keepForeign && c.problem?.includes("was built for the model")) return;
    seen.add(key);
    out.push(c);
  };
  for (const p of inDir(shippedDir)) add(p, "shipped", false);
  const workspace = (opts.workspaceDirs ?? []).flatMap(inDir);
  workspace.sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs);
  for (const p of workspace) add(p, "workspace", false);
  for (const p of opts.files ?? []) add(p, "file", true);
  return out;
}

function describeCandidate(
  path: string,
  source: AtlasCandidate["source"],
  model: ModelIdentity,
): AtlasCandidate {
  let atlas: Atlas;
  try {
    atlas = readAtlasFile(path);
  } catch (e) {
    return { path, source, usable: false, problem: (e as Error).message };
  }
  const described: AtlasCandidate = {
    path,
    source,
    usable: true,
    modelName: atlas.model.name,
    createdAt: atlas.createdAt,
    corpusRoot: atlas.corpus.root,
    languages: atlas.languages,
    controls: atlas.controls,
    tokens: Object.fromEntries(Object.entries(atlas.corpus.languages).map(([k, v]) => [k, v.tokens])),
    quality: atlasQuality(atlas),
    hasBaselines: atlas.baselines !== undefined,
    hasExpertStats: (() => {
      const p = atlasStatsPath(path, atlas);
      return p !== undefined && existsSync(p);
    })(),
  };
  try {
    checkAtlasModel(atlas, model, path);
  } catch (e) {
    return { ...described, usable: false, problem: (e as Error).message };
  }
  return described;
}
