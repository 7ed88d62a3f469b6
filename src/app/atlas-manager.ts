// The active language atlas for the running model, and the masks it gives. Which atlas:
// the most recent choice wins — an atlas built from this workspace (remembered in the
// workspace state) until the `monetLens.atlasPath` setting changes, else that setting,
// else the atlas shipped for the model. An atlas for another model is never used.
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { basename, join } from "node:path";
import { checkAtlasModel, readAtlasFile, type Atlas, type ModelIdentity } from "../atlas/atlas-file";
import { findAtlas, shippedAtlasDir } from "../atlas/atlas-store";
import type { MaskState } from "../completion/controller";
import type { EngineInfo } from "../engine/protocol";
import { MANIFEST_FILE } from "../model/convert";
import { Emitter } from "./emitter";
import type { StateStore } from "./mask-store";

export interface ActiveAtlas {
  atlas: Atlas;
  path: string;
  source: "workspace" | "setting" | "shipped";
  /** Short identity of the file's content, for mask keys. */
  id: string;
}

const WORKSPACE_ATLAS_KEY = "monetLens.workspaceAtlas";

interface WorkspaceAtlasRecord {
  path: string;
  fingerprint: string;
}

/** The running model as atlases record it (the checkpoint fingerprint from the converted model's manifest). */
export function modelIdentityOf(info: EngineInfo): ModelIdentity {
  const manifest = join(info.convertedDir, MANIFEST_FILE);
  let fingerprint: string;
  try {
    fingerprint = (JSON.parse(readFileSync(manifest, "utf8")) as { fingerprint: string }).fingerprint;
  } catch (e) {
    throw new Error(`cannot read the model's fingerprint from ${manifest} (${(e as Error).message})`);
  }
  const c = info.config;
  return {
    name: basename(info.modelDir),
    fingerprint,
    config: {
      layers: c.numLayers,
      hiddenSize: c.hiddenSize,
      vocabSize: c.vocabSize,
      routingGroups: info.routingGroups,
      moeHeads: c.moeHeads,
      moeExperts: c.moeExperts,
      decompose: c.moeDecompose,
    },
  };
}

export class AtlasManager {
  private cached: { key: string; active: ActiveAtlas | undefined } | undefined;
  private readonly maskCache = new Map<string, MaskState>();
  private readonly changed = new Emitter<ActiveAtlas | undefined>();
  readonly onDidChange = this.changed.event;
  private lastReported = "";

  private readonly state: StateStore;
  private readonly log: (line: string) => void;
  private readonly warn: (line: string) => void;
  private readonly shippedDir: string | undefined;

  constructor(opts: {
    state: StateStore;
    log: (line: string) => void;
    warn?: (line: string) => void;
    shippedDir?: string | null;
  }) {
    this.state = opts.state;
    this.log = opts.log;
    this.warn = opts.warn ?? opts.log;
    this.shippedDir = opts.shippedDir === null ? undefined : (opts.shippedDir ?? shippedAtlasDir());
  }

  /** The atlas for the model `info` describes, or undefined when there is none. */
  active(info: EngineInfo, atlasPathSetting: string): ActiveAtlas | undefined {
    const record = this.state.get<WorkspaceAtlasRecord>(WORKSPACE_ATLAS_KEY);
    const key = `${info.convertedDir}|${record?.path ?? ""}|${atlasPathSetting}`;
    if (this.cached?.key === key) return this.cached.active;
    const identity = modelIdentityOf(info);
    const active = this.resolve(identity, record, atlasPathSetting);
    this.cached = { key, active };
    this.maskCache.clear();
    this.log(
      active
        ? `language atlas: ${active.path} (${active.source}; ${active.atlas.languages.join(", ")})`
        : `no language atlas for the model ${identity.name}: masks are unavailable until one is built (Monet Lens: Build Language Atlas from Workspace)`,
    );
    this.changed.fire(active);
    return active;
  }

  /** Makes a freshly built atlas the active one for this workspace. */
  async useWorkspaceAtlas(path: string, fingerprint: string): Promise<void> {
    await this.state.update(WORKSPACE_ATLAS_KEY, { path, fingerprint } satisfies WorkspaceAtlasRecord);
    this.cached = undefined;
  }

  /** The atlasPath setting changed: it is now the most recent choice. */
  async settingChanged(): Promise<void> {
    await this.state.update(WORKSPACE_ATLAS_KEY, undefined);
    this.cached = undefined;
  }

  /**
   * The masks for `languages` under `active`; languages the atlas does not have are left
   * out (and named in `ignored`).
   */
  masks(
    active: ActiveAtlas | undefined,
    languages: readonly string[],
  ): MaskState & { ignored: string[]; applied: string[] } {
    if (!active || languages.length === 0)
      return { key: "", label: "", ignored: [...languages], applied: [] };
    const applied = languages.filter((l) => active.atlas.sets.has(l));
    const ignored = languages.filter((l) => !active.atlas.sets.has(l));
    if (applied.length === 0) return { key: "", label: "", ignored, applied };
    const key = `${active.id}:${applied.join(",")}`;
    let state = this.maskCache.get(key);
    if (!state) {
      const label = applied.join(", ");
      const groups = Array.from({ length: active.atlas.model.config.routingGroups }, (_, g) =>
        applied.flatMap((l) => Array.from(active.atlas.sets.get(l)![g]!)),
      );
      // The engine keeps masks by label and sizes: the atlas id keeps two atlases apart.
      state = { key, label, spec: { label: `${label} [atlas ${active.id}]`, groups } };
      this.maskCache.set(key, state);
    }
    return { ...state, ignored, applied };
  }

  /** Per language, the experts it owns over all routing groups. */
  static languageCounts(atlas: Atlas): Array<{ id: string; experts: number }> {
    return atlas.languages.map((id) => ({
      id,
      experts: atlas.sets.get(id)!.reduce((n, s) => n + s.length, 0),
    }));
  }

  dispose(): void {
    this.changed.dispose();
  }

  private resolve(
    identity: ModelIdentity,
    record: WorkspaceAtlasRecord | undefined,
    setting: string,
  ): ActiveAtlas | undefined {
    if (record && record.fingerprint === identity.fingerprint) {
      const a = this.tryRead(record.path, identity, "workspace");
      if (a) return a;
    }
    if (setting) {
      const a = this.tryRead(setting, identity, "setting");
      if (a) return a;
    }
    try {
      // No shipped folder (none found, or turned off with shippedDir: null) means none: an
      // undefined dir would make findAtlas look in its default folder.
      const shipped =
        this.shippedDir === undefined ? undefined : findAtlas(identity, undefined, this.shippedDir);
      return shipped ? { ...shipped, source: "shipped", id: contentId(shipped.path) } : undefined;
    } catch (e) {
      this.report(`the shipped atlases could not be read: ${(e as Error).message}`);
      return undefined;
    }
  }

  private tryRead(
    path: string,
    identity: ModelIdentity,
    source: ActiveAtlas["source"],
  ): ActiveAtlas | undefined {
    try {
      const atlas = readAtlasFile(path);
      checkAtlasModel(atlas, identity, path);
      return { atlas, path, source, id: contentId(path) };
    } catch (e) {
      this.report(`${source === "setting" ? "monetLens.atlasPath: " : ""}${(e as Error).message}`, true);
      return undefined;
    }
  }

  private report(line: string, warn = false): void {
    if (line === this.lastReported) return;
    this.lastReported = line;
    (warn ? this.warn : this.log)(line);
  }
}

function contentId(path: string): string {
  try {
    return createHash("sha256").update(readFileSync(path)).digest("hex").slice(0, 12);
  } catch {
    return createHash("sha256").update(path).digest("hex").slice(0, 12);
  }
}
