// The atlas file: which experts of a model are specialised in which language, with the
// model it belongs to, the corpus and the parameters it was built from. JSON, versioned,
// written atomically, validated on read with messages that say what to do.
//
// {
//   "format": "monet-lens-atlas", "version": 1, "createdAt": ISO date,
//   "model": {"name", "fingerprint",
//             "config": {layers, hiddenSize, vocabSize, routingGroups, moeHeads, moeExperts, decompose}},
//   "corpus": {"root", "split": SplitRule,
//              "languages": {lang: {files, heldOutFiles, filesRead, tokens, bytes}},
//              "omitted": {lang: reason}, "skippedFiles", "seen": [content hashes of every file read]},
//   "params": {"ratio", "minTokens", "maxTokensPerLanguage", "segmentTokens"},
//   "languages": [lang, ...],
//   "groups": [{lang: {"count": n, "experts": compact set (expert-set.ts)}}, ...]   (one per routing group)
// }
import { readFileSync } from "node:fs";
import type { ModelIdentity } from "../engine/model-identity";
import { writeFileAtomic } from "../files/atomic-write";
import type { SplitRule } from "./corpus";
import { decodeExpertSet, encodeExpertSet } from "./expert-set";

export type { ModelIdentity };

export const ATLAS_FORMAT = "monet-lens-atlas";
export const ATLAS_VERSION = 1;

export interface LanguageStats {
  /** Training files in the corpus (after the split). */
  files: number;
  heldOutFiles: number;
  /** Training files actually read (a token budget may stop early). */
  filesRead: number;
  tokens: number;
  bytes: number;
}

export interface AtlasParams {
  ratio: number;
  minTokens: number;
  maxTokensPerLanguage: number;
  /** Tokens per forward pass (each file is cut into pieces of at most this many). */
  segmentTokens: number;
}

export interface Atlas {
  createdAt: string;
  model: ModelIdentity;
  corpus: {
    root: string;
    split: SplitRule;
    languages: Record<string, LanguageStats>;
    /** Languages of the corpus left out of the atlas, with why. */
    omitted: Record<string, string>;
    skippedFiles: number;
    /** Content hashes (corpus.ts contentHash) of the files the atlas read. */
    seen: string[];
  };
  params: AtlasParams;
  /** Sorted. */
  languages: string[];
  /** Per language, per routing group: sorted flat expert indices e = i·E + j. */
  sets: Map<string, Uint32Array[]>;
  /** Seconds the build took (informative). */
  buildSeconds?: number;
}

export class AtlasError extends Error {}

export function serializeAtlas(atlas: Atlas): string {
  const groups = Array.from({ length: atlas.model.config.routingGroups }, (_, g) =>
    Object.fromEntries(
      atlas.languages.map((lang) => {
        const set = atlas.sets.get(lang)?.[g];
        if (!set) throw new Error(`the atlas has no set for ${lang} in group ${g}`);
        return [lang, { count: set.length, experts: encodeExpertSet(set) }];
      }),
    ),
  );
  const json = {
    format: ATLAS_FORMAT,
    version: ATLAS_VERSION,
    createdAt: atlas.createdAt,
    model: atlas.model,
    corpus: atlas.corpus,
    params: atlas.params,
    languages: atlas.languages,
    ...(atlas.buildSeconds === undefined ? {} : { buildSeconds: atlas.buildSeconds }),
    groups,
  };
  return `${JSON.stringify(json, null, 1)}\n`;
}

export function writeAtlasFile(
  path: string,
  atlas: Atlas,
  write?: Parameters<typeof writeFileAtomic>[2],
): void {
  writeFileAtomic(path, serializeAtlas(atlas), write);
}

export function readAtlasFile(path: string): Atlas {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why =
      code === "ENOENT" ? "no such atlas file" : `cannot read the atlas (${code ?? (e as Error).message})`;
    throw new AtlasError(`${path}: ${why}`);
  }
  return parseAtlas(text, path);
}

export function parseAtlas(text: string, source: string): Atlas {
  const corrupt = (why: string): never => {
    throw new AtlasError(
      `${source}: the atlas file is damaged (${why}); rebuild it with monet-lens atlas build`,
    );
  };
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch (e) {
    return corrupt(`not valid JSON: ${(e as Error).message}`);
  }
  if (typeof json !== "object" || json === null || Array.isArray(json) || json.format !== ATLAS_FORMAT) {
    throw new AtlasError(`${source}: not a Monet Lens atlas (no "format": "${ATLAS_FORMAT}")`);
  }
  if (json.version !== ATLAS_VERSION) {
    const newer = typeof json.version === "number" && json.version > ATLAS_VERSION;
    throw new AtlasError(
      `${source}: atlas format version ${String(json.version)}, but this Monet Lens reads ` +
        `version ${ATLAS_VERSION}; ${newer ? "update Monet Lens or " : ""}rebuild ` +
        `the atlas with monet-lens atlas build`,
    );
  }
  const model = json.model as ModelIdentity | undefined;
  const c = model?.config;
  if (
    !model ||
    typeof model.name !== "string" ||
    typeof model.fingerprint !== "string" ||
    !c ||
    ![c.routingGroups, c.moeExperts, c.moeHeads].every((n) => Number.isInteger(n) && n > 0)
  ) {
    return corrupt('missing or invalid "model"');
  }
  const languages = json.languages;
  if (
    !Array.isArray(languages) ||
    !languages.every((l) => typeof l === "string") ||
    new Set(languages).size !== languages.length
  )
    return corrupt('invalid "languages"');
  const corpus = json.corpus as Atlas["corpus"] | undefined;
  if (
    !corpus ||
    typeof corpus !== "object" ||
    typeof corpus.languages !== "object" ||
    !Array.isArray(corpus.seen) ||
    typeof corpus.split !== "object"
  )
    return corrupt('missing or invalid "corpus"');
  const params = json.params as AtlasParams | undefined;
  if (!params || typeof params.ratio !== "number") return corrupt('missing or invalid "params"');
  const groups = json.groups;
  if (!Array.isArray(groups) || groups.length !== c.routingGroups)
    return corrupt(`"groups" must list ${c.routingGroups} routing groups`);
  const cells = c.moeExperts * c.moeExperts;
  const sets = new Map<string, Uint32Array[]>(languages.map((l: string) => [l, []]));
  for (const [g, group] of (
    groups as Array<Record<string, { count?: unknown; experts?: unknown }>>
  ).entries()) {
    const owner = new Int16Array(cells).fill(-1);
    for (const [li, lang] of (languages as string[]).entries()) {
      const entry = group?.[lang];
      if (!entry || typeof entry.experts !== "string" || typeof entry.count !== "number")
        return corrupt(`group ${g} has no expert set for ${lang}`);
      let set: Uint32Array;
      try {
        set = decodeExpertSet(entry.experts, cells);
      } catch (e) {
        return corrupt(`group ${g}, ${lang}: ${(e as Error).message}`);
      }
      if (set.length !== entry.count)
        return corrupt(`group ${g}, ${lang}: ${set.length} experts, but the count says ${entry.count}`);
      for (const e of set) {
        if (owner[e] !== -1)
          return corrupt(`group ${g}: expert ${e} is in both ${languages[owner[e]!]} and ${lang}`);
        owner[e] = li;
      }
      sets.get(lang)!.push(set);
    }
  }
  return {
    createdAt: String(json.createdAt ?? ""),
    model,
    corpus,
    params,
    languages: languages as string[],
    sets,
    buildSeconds: typeof json.buildSeconds === "number" ? json.buildSeconds : undefined,
  };
}

/** Throws unless `atlas` was built for the model `running`. */
export function checkAtlasModel(atlas: Atlas, running: ModelIdentity, source: string): void {
  if (atlas.model.fingerprint === running.fingerprint) return;
  const short = (m: ModelIdentity) => `"${m.name}" (fingerprint ${m.fingerprint.slice(0, 12)}…)`;
  throw new AtlasError(
    `${source} was built for the model ${short(atlas.model)}, not for the model being run, ` +
      `${short(running)}; build an atlas for this model with monet-lens atlas build ` +
      `--model DIR --corpus DIR --out FILE`,
  );
}
