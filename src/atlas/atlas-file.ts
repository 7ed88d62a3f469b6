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
import type { ModelIdentity } from "../engine/model-identity";
import { FileAccessError, readRegularText, readRegularTextAsync } from "../files/regular-file";
import { CONFIG_LIMITS } from "../checkpoint/config";
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

/** The shapes an atlas may describe: those of the models config.json may describe (CONFIG_LIMITS). */
const MAX_EXPERTS = CONFIG_LIMITS.moe_experts!;
const MAX_HEADS = CONFIG_LIMITS.moe_heads!;
const MAX_GROUPS = CONFIG_LIMITS.num_hidden_layers!;

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

/** Most bytes an atlas file may have (the demo model's: 234 kB). */
export const ATLAS_MAX_BYTES = 64 << 20;
const ATLAS_READ = { maxBytes: ATLAS_MAX_BYTES, what: "atlas file" };

export function readAtlasFile(path: string): Atlas {
  let text: string;
  try {
    text = readRegularText(path, ATLAS_READ);
  } catch (e) {
    throw atlasReadError(path, e);
  }
  return parseAtlas(text, path);
}

/** readAtlasFile without blocking the thread (the extension host). */
export async function readAtlasFileAsync(path: string): Promise<Atlas> {
  let text: string;
  try {
    text = await readRegularTextAsync(path, ATLAS_READ);
  } catch (e) {
    throw atlasReadError(path, e);
  }
  return parseAtlas(text, path);
}

function atlasReadError(path: string, e: unknown): AtlasError {
  if (!(e instanceof FileAccessError)) throw e;
  return new AtlasError(`${path}: ${e.problem === "missing" ? "no such atlas file" : e.reason}`);
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
  if (c.moeExperts > MAX_EXPERTS || c.moeHeads > MAX_HEADS || c.routingGroups > MAX_GROUPS)
    return corrupt(
      `"model" claims ${c.routingGroups} routing groups of ${c.moeExperts}×${c.moeExperts} experts and ${c.moeHeads} heads, beyond any model Monet Lens runs`,
    );
  const cells = c.moeExperts * c.moeExperts;
  const sets = new Map<string, Uint32Array[]>(languages.map((l: string) => [l, []]));
  for (const [g, group] of (
    groups as Array<Record<string, { count?: unknown; experts?: unknown }>>
  ).entries()) {
    for (const lang of languages as string[]) {
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
      sets.get(lang)!.push(set);
    }
    const shared = sharedExpert(languages.map((l: string) => sets.get(l)![g]!));
    if (shared) {
      const [e, a, b] = shared;
      return corrupt(`group ${g}: expert ${e} is in both ${languages[a]} and ${languages[b]}`);
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

/**
 * An expert in two of the (sorted) sets, with the indices of both sets, or undefined. Sorting
 * the union costs the sets' size, not the E² cells of a dense owner table.
 */
function sharedExpert(sets: readonly Uint32Array[]): [number, number, number] | undefined {
  const all = new Uint32Array(sets.reduce((n, s) => n + s.length, 0));
  let at = 0;
  for (const s of sets) {
    all.set(s, at);
    at += s.length;
  }
  all.sort();
  for (let i = 1; i < all.length; i++) {
    if (all[i] !== all[i - 1]) continue;
    const e = all[i]!;
    const owners = sets.flatMap((s, k) => (s.includes(e) ? [k] : []));
    return [e, owners[0]!, owners[1]!];
  }
  return undefined;
}

/** Throws unless `atlas` was built for the model `running`. */
export function checkAtlasModel(atlas: Atlas, running: ModelIdentity, source: string): void {
  if (atlas.model.fingerprint === running.fingerprint) {
    // Same model, so the same shape, unless the file was edited or damaged: masks of another
    // shape would reach onnxruntime (wrong-sized tensors, groups silently ignored).
    const a = atlas.model.config;
    const r = running.config;
    const shape = (c: ModelIdentity["config"]) =>
      `${c.routingGroups} routing groups of ${c.moeExperts}×${c.moeExperts} experts, ${c.moeHeads} heads`;
    if (a.routingGroups !== r.routingGroups || a.moeExperts !== r.moeExperts || a.moeHeads !== r.moeHeads)
      throw new AtlasError(
        `${source} has the fingerprint of the model being run but describes ${shape(a)}, while the model has ${shape(r)}: the atlas file was edited or damaged; rebuild it with monet-lens atlas build --model DIR --corpus DIR --out FILE`,
      );
    return;
  }
  const short = (m: ModelIdentity) => `"${m.name}" (fingerprint ${m.fingerprint.slice(0, 12)}…)`;
  throw new AtlasError(
    `${source} was built for the model ${short(atlas.model)}, not for the model being run, ` +
      `${short(running)}; build an atlas for this model with monet-lens atlas build ` +
      `--model DIR --corpus DIR --out FILE`,
  );
}
