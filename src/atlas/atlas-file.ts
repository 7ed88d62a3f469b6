// The atlas file: which experts of a model are specialised in which class (programming
// languages, and control classes such as prose), with the model it belongs to, the corpus
// and the parameters it was built from, and each class's baseline. JSON, versioned,
// written atomically, validated on read with messages that say what to do. Version 2 is
// written; version 1 files (no control classes, no baselines, no expert statistics) are
// still read.
//
// Version 2:
// {
//   "format": "monet-lens-atlas", "version": 2, "createdAt": ISO date,
//   "model": {"name", "fingerprint", "config": {layers, hiddenSize, vocabSize, routingGroups, moeHeads, moeExperts, decompose}},
//   "corpus": {"root" (as given to the build), "rootFromAtlas" (the same folder relative to the atlas file's folder), "split": SplitRule, "languages": {class: {files, heldOutFiles, filesRead, tokens, bytes}},
//              "omitted": {class: reason}, "omittedTokens": {class: tokens}, "skippedFiles", "seen": [content hashes of every file read]},
//   "params": {"ratio", "minTokens", "maxTokensPerLanguage", "segmentTokens", "contextsPerExpert"},
//   "languages": [lang, ...],                 (programming languages: what masks and steering offer)
//   "controls": [class, ...],                 (control classes, e.g. "plaintext": labelled, never offered for masking)
//   "baselines": {class: [per routing group: mean share of a token's routing mass held by the class's experts]},
//   "quality": AtlasQuality                   (informative: readers recompute it, quality.ts)
//   "stats": {"file", "id", "bytes"}          (optional: the expert-statistics sidecar, expert-stats.ts)
//   "buildSeconds": s,
//   "groups": [{class: {"count": n, "experts": compact set (expert-set.ts)}}, ...]   (one per routing group; languages and controls)
// }
// Version 1 is the same without "controls", "baselines", "quality", "stats",
// "corpus.omittedTokens" and "params.contextsPerExpert".
import { existsSync } from "node:fs";
import { basename, dirname, join, relative, resolve, sep } from "node:path";
import type { ModelIdentity } from "../engine/model-identity";
import { CONFIG_LIMITS } from "../checkpoint/config";
import { writeFileAtomic } from "../files/atomic-write";
import { FileAccessError, readRegularText, readRegularTextAsync } from "../files/regular-file";
import type { SplitRule } from "./corpus";
import { decodeExpertSet, encodeExpertSet } from "./expert-set";
import { type ExpertStats, statsPathFor, writeExpertStats } from "./expert-stats";
import { atlasQuality } from "./quality";

export const ATLAS_FORMAT = "monet-lens-atlas";
export const ATLAS_VERSION = 2;
/** Versions this Monet Lens reads. */
export const ATLAS_VERSIONS_READ = [1, 2] as const;

export type { ModelIdentity };

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
  /** Top contexts kept per expert in the statistics (0: none; absent in version 1). */
  contextsPerExpert?: number;
}

/** Where an atlas's expert statistics are: a file beside the atlas JSON. */
export interface StatsRef {
  /** File name, in the atlas file's folder. */
  file: string;
  /** The sidecar's content id (expert-stats.ts), checked when it is opened. */
  id: string;
  bytes: number;
}

export interface Atlas {
  createdAt: string;
  model: ModelIdentity;
  corpus: {
    /** The corpus folder as given to the build. */
    root: string;
    /** The same folder relative to the atlas file's folder (version 2; set when the atlas is written). */
    rootFromAtlas?: string;
    split: SplitRule;
    languages: Record<string, LanguageStats>;
    /** Classes of the corpus left out of the atlas, with why. */
    omitted: Record<string, string>;
    /** Their training tokens (version 2). */
    omittedTokens?: Record<string, number>;
    skippedFiles: number;
    /** Content hashes (corpus.ts contentHash) of the files the atlas read. */
    seen: string[];
  };
  params: AtlasParams;
  /** Programming languages, sorted: the classes masks and steering offer. */
  languages: string[];
  /** Per language, per routing group: sorted flat expert indices e = i·E + j. */
  sets: Map<string, Uint32Array[]>;
  /** Control classes (e.g. "plaintext"), sorted; [] in version 1. */
  controls: string[];
  /** Per control class, per routing group, as `sets`. */
  controlSets: Map<string, Uint32Array[]>;
  /** Per class (languages and controls), per routing group: the class's baseline share. Absent in version 1. */
  baselines?: Map<string, number[]>;
  /** The expert-statistics sidecar (version 2 atlases built with statistics). */
  stats?: StatsRef;
  /** The statistics themselves, when just built (writeAtlasFile writes them beside the JSON). */
  expertStats?: ExpertStats;
  /** Seconds the build took (informative). */
  buildSeconds?: number;
}

/** Every class of the atlas: languages, then control classes. */
export function atlasClasses(atlas: Pick<Atlas, "languages" | "controls">): string[] {
  return [...atlas.languages, ...atlas.controls];
}

/** A class's expert sets per group (language or control), or undefined. */
export function classSets(atlas: Pick<Atlas, "sets" | "controlSets">, id: string): Uint32Array[] | undefined {
  return atlas.sets.get(id) ?? atlas.controlSets.get(id);
}

export class AtlasError extends Error {}

/** The shapes an atlas may describe: those of the models config.json may describe (CONFIG_LIMITS). */
const MAX_EXPERTS = CONFIG_LIMITS.moe_experts!;
const MAX_HEADS = CONFIG_LIMITS.moe_heads!;
const MAX_GROUPS = CONFIG_LIMITS.num_hidden_layers!;

export function serializeAtlas(atlas: Atlas): string {
  const classes = atlasClasses(atlas);
  const groups = Array.from({ length: atlas.model.config.routingGroups }, (_, g) =>
    Object.fromEntries(
      classes.map((cls) => {
        const set = classSets(atlas, cls)?.[g];
        if (!set) throw new Error(`the atlas has no set for ${cls} in group ${g}`);
        return [cls, { count: set.length, experts: encodeExpertSet(set) }];
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
    controls: atlas.controls,
    ...(atlas.baselines ? { baselines: Object.fromEntries(atlas.baselines) } : {}),
    quality: atlasQuality(atlas),
    ...(atlas.stats ? { stats: atlas.stats } : {}),
    ...(atlas.buildSeconds === undefined ? {} : { buildSeconds: atlas.buildSeconds }),
    groups,
  };
  return `${JSON.stringify(json, null, 1)}\n`;
}

/**
 * Writes the atlas to `path`, atomically; when the atlas carries freshly built expert
 * statistics they are written first, beside it (statsPathFor), and `atlas.stats` then
 * names them. A crash between the two leaves the old JSON naming the old statistics' id,
 * which the new sidecar does not match: the card says to rebuild, nothing is misread.
 */
export function writeAtlasFile(
  path: string,
  atlas: Atlas,
  write?: Parameters<typeof writeFileAtomic>[2],
): void {
  if (atlas.expertStats) {
    const statsPath = statsPathFor(path);
    const { id, bytes } = writeExpertStats(statsPath, atlas.expertStats, write);
    atlas.stats = { file: basename(statsPath), id, bytes };
  }
  // Where the corpus is seen from the atlas file, so that a card finds it from any working folder.
  const rootFromAtlas = relative(dirname(resolve(path)), resolve(atlas.corpus.root))
    .split(sep)
    .join("/");
  writeFileAtomic(path, serializeAtlas({ ...atlas, corpus: { ...atlas.corpus, rootFromAtlas } }), write);
}

/**
 * Where the corpus an atlas was built from should be: `override` when given, else the
 * first existing of its folder seen from the atlas file and its folder as given to the
 * build (relative to the working folder); else the first candidate (for the message).
 */
export function atlasCorpusRoot(atlasPath: string, atlas: Pick<Atlas, "corpus">, override?: string): string {
  if (override) return resolve(override);
  const candidates = [
    ...(atlas.corpus.rootFromAtlas !== undefined
      ? [resolve(dirname(atlasPath), atlas.corpus.rootFromAtlas)]
      : []),
    resolve(atlas.corpus.root),
  ];
  return candidates.find((c) => existsSync(c)) ?? candidates[0]!;
}

/** The path of the atlas's expert statistics, when it has them. */
export function atlasStatsPath(atlasPath: string, atlas: Pick<Atlas, "stats">): string | undefined {
  return atlas.stats ? join(dirname(atlasPath), atlas.stats.file) : undefined;
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
  const version = json.version;
  if (!(ATLAS_VERSIONS_READ as readonly unknown[]).includes(version)) {
    const newer = typeof version === "number" && version > ATLAS_VERSION;
    throw new AtlasError(
      `${source}: atlas format version ${String(version)}, but this Monet Lens reads versions ${ATLAS_VERSIONS_READ.join(" and ")}; ${newer ? "update Monet Lens or " : ""}rebuild the atlas with monet-lens atlas build`,
    );
  }
  const common = parseCommon(json, corrupt);
  const controls = version === 1 ? [] : parseClassList(json.controls, "controls", corrupt);
  const clash = controls.find((c) => common.languages.includes(c));
  if (clash !== undefined) return corrupt(`"${clash}" is both a language and a control class`);
  const sets = parseGroups(json.groups, [...common.languages, ...controls], common.model, corrupt);
  const atlas: Atlas = {
    ...common,
    sets: new Map(common.languages.map((l) => [l, sets.get(l)!])),
    controls,
    controlSets: new Map(controls.map((c) => [c, sets.get(c)!])),
  };
  if (version === 2) {
    if (json.baselines !== undefined)
      atlas.baselines = parseBaselines(
        json.baselines,
        [...common.languages, ...controls],
        common.model,
        corrupt,
      );
    if (json.stats !== undefined) atlas.stats = parseStatsRef(json.stats, corrupt);
  }
  return atlas;
}

type Corrupt = (why: string) => never;

/** What versions 1 and 2 share: everything but the classes' sets, controls, baselines and stats. */
function parseCommon(
  json: Record<string, unknown>,
  corrupt: Corrupt,
): Omit<Atlas, "sets" | "controls" | "controlSets" | "baselines" | "stats"> {
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
  const languages = parseClassList(json.languages, "languages", corrupt);
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
  return {
    createdAt: String(json.createdAt ?? ""),
    model,
    corpus,
    params,
    languages,
    buildSeconds: typeof json.buildSeconds === "number" ? json.buildSeconds : undefined,
  };
}

function parseClassList(value: unknown, name: string, corrupt: Corrupt): string[] {
  if (
    !Array.isArray(value) ||
    !value.every((l) => typeof l === "string") ||
    new Set(value).size !== value.length
  )
    return corrupt(`invalid "${name}"`);
  return value as string[];
}

/** The expert sets of every class per group, checked: counts, ranges, no expert in two classes. */
function parseGroups(
  groups: unknown,
  classes: readonly string[],
  model: ModelIdentity,
  corrupt: Corrupt,
): Map<string, Uint32Array[]> {
  const c = model.config;
  if (!Array.isArray(groups) || groups.length !== c.routingGroups)
    return corrupt(`"groups" must list ${c.routingGroups} routing groups`);
  if (c.moeExperts > MAX_EXPERTS || c.moeHeads > MAX_HEADS || c.routingGroups > MAX_GROUPS)
    return corrupt(
      `"model" claims ${c.routingGroups} routing groups of ${c.moeExperts}×${c.moeExperts} experts and ${c.moeHeads} heads, beyond any model Monet Lens runs`,
    );
  const cells = c.moeExperts * c.moeExperts;
  const sets = new Map<string, Uint32Array[]>(classes.map((l) => [l, []]));
  for (const [g, group] of (
    groups as Array<Record<string, { count?: unknown; experts?: unknown }>>
  ).entries()) {
    for (const lang of classes) {
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
    const shared = sharedExpert(classes.map((l) => sets.get(l)![g]!));
    if (shared) {
      const [e, a, b] = shared;
      return corrupt(`group ${g}: expert ${e} is in both ${classes[a]} and ${classes[b]}`);
    }
  }
  return sets;
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

function parseBaselines(
  value: unknown,
  classes: readonly string[],
  model: ModelIdentity,
  corrupt: Corrupt,
): Map<string, number[]> {
  if (typeof value !== "object" || value === null || Array.isArray(value))
    return corrupt('invalid "baselines"');
  const out = new Map<string, number[]>();
  for (const cls of classes) {
    const b = (value as Record<string, unknown>)[cls];
    if (
      !Array.isArray(b) ||
      b.length !== model.config.routingGroups ||
      !b.every((x) => typeof x === "number" && Number.isFinite(x) && x >= 0 && x <= 1)
    )
      return corrupt(`"baselines" has no valid entry for ${cls} (a share per routing group)`);
    out.set(cls, b as number[]);
  }
  return out;
}

function parseStatsRef(value: unknown, corrupt: Corrupt): StatsRef {
  const s = value as Partial<StatsRef> | null;
  if (
    !s ||
    typeof s.file !== "string" ||
    s.file !== basename(s.file) ||
    typeof s.id !== "string" ||
    !/^[0-9a-f]{64}$/.test(s.id) ||
    typeof s.bytes !== "number"
  )
    return corrupt('invalid "stats" (a file name beside the atlas, an id and a size)');
  return { file: s.file, id: s.id, bytes: s.bytes };
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
    `${source} was built for the model ${short(atlas.model)}, not for the model being run, ${short(running)}; build an atlas for this model with monet-lens atlas build --model DIR --corpus DIR --out FILE`,
  );
}
