// The active language atlas for the running model, and the steering its masked languages
// give. Which atlas: the most recent choice wins — an atlas built from this workspace
// (remembered in the workspace state) until the `monetLens.atlasPath` setting changes, else
// that setting, else the atlas shipped for the model. An atlas for another model is never used.
import { checkAtlasModel, readAtlasFile, type Atlas } from "../atlas/atlas-file";
import { findAtlas, shippedAtlasDir } from "../atlas/atlas-store";
import {
  maskLanguages,
  type ResolvedSteering,
  resolveSteering,
  type SteeringSelection,
} from "../atlas/steering-selection";
import type { ModelIdentity } from "../engine/model-identity";
import type { EngineInfo } from "../engine/protocol";
import { Emitter } from "./emitter";
import type { StateStore } from "./mask-store";

export interface ActiveAtlas {
  atlas: Atlas;
  path: string;
  source: "workspace" | "setting" | "shipped";
}

const WORKSPACE_ATLAS_KEY = "monetLens.workspaceAtlas";

interface WorkspaceAtlasRecord {
  path: string;
  fingerprint: string;
}

export class AtlasManager {
  private cached: { key: string; active: ActiveAtlas | undefined } | undefined;
  /**
   * The last resolution, for the same atlas and the same selection (MaskStore keeps the object,
   * or the masked-language array, until something changes).
   */
  private lastSteering:
    | { atlas: Atlas | undefined; selection: object; resolved: ResolvedSteering }
    | undefined;
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

  /** The folder of shipped atlases this manager reads (undefined: none). */
  get shippedFolder(): string | undefined {
    return this.shippedDir;
  }

  /** The atlas for the model `info` describes, or undefined when there is none. */
  active(info: EngineInfo, atlasPathSetting: string): ActiveAtlas | undefined {
    const record = this.state.get<WorkspaceAtlasRecord>(WORKSPACE_ATLAS_KEY);
    const key = `${info.identity.fingerprint}|${record?.path ?? ""}|${atlasPathSetting}`;
    if (this.cached?.key === key) return this.cached.active;
    const identity = info.identity;
    const active = this.resolve(identity, record, atlasPathSetting);
    this.cached = { key, active };
    this.log(
      active
        ? `language atlas: ${active.path} (${active.source}; ${active.atlas.languages.join(", ")})`
        : `no language atlas for the model ${identity.name}: masks are unavailable until one is ` +
            `built (Monet Lens: Build Language Atlas from Workspace)`,
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
   * The steering of `selection` (masked languages, or languages with their scales) under
   * `active` (src/atlas/steering-selection.ts); languages the atlas does not have are left
   * out and named in `ignored`.
   */
  steering(
    active: ActiveAtlas | undefined,
    selection: readonly string[] | SteeringSelection,
  ): ResolvedSteering {
    const atlas = active?.atlas;
    const last = this.lastSteering;
    if (last && last.atlas === atlas && last.selection === selection) return last.resolved;
    const resolved = resolveSteering(
      atlas,
      isLanguageList(selection) ? maskLanguages(selection) : selection,
      {
        unknown: "ignore",
      },
    );
    this.lastSteering = { atlas, selection, resolved };
    return resolved;
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
      return shipped ? { ...shipped, source: "shipped" } : undefined;
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
      return { atlas, path, source };
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

function isLanguageList(s: readonly string[] | SteeringSelection): s is readonly string[] {
  return Array.isArray(s);
}
