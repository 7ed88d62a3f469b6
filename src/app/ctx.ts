// The extension's state and how its parts talk: configuration, the engine host, the
// completion controller, the masks and the atlas, the status bar. No runtime import of
// "vscode": src/extension/activate.ts hands in the UI, the settings and the status item.
import { basename, join } from "node:path";
import { CompletionController, type CompletionEvent } from "../completion/controller";
import { embeddedModelDir } from "../engine/model-paths";
import { cacheDirFor } from "../engine/model-store";
import type { Steering } from "../engine/steering";
import type { EngineInfo } from "../engine/protocol";
import { AtlasManager, type ActiveAtlas } from "./atlas-manager";
import { commandId } from "./command-ids";
import {
  engineSettingsChanged,
  languageEnabled,
  readConfig,
  type MonetLensConfig,
  type SettingReader,
} from "./config";
import { cpuDescription, deviceName } from "./device-name";
import { EngineHost, type EngineHostOptions, type EngineSettings } from "./engine-host";
import { ExpertSwitches, withExpertScales } from "./expert-switches";
import { MaskStore, type StateStore } from "./mask-store";
import { type StatusBar, steeringText } from "./status";
import type { Logger, Ui } from "./ui";

export interface CtxOptions {
  ui: Ui;
  log: Logger;
  /** Reads monetLens.* (section level). */
  settings: () => SettingReader;
  /** monetLens.enable for a language (language-overridable). */
  enableFor: (languageId: string) => unknown;
  workspaceState: StateStore;
  /** Where workspace-built atlases go (the extension's global storage). */
  storageDir: string;
  status?: StatusBar;
  /** Tests: another conversion cache, a fake engine. */
  engine?: Pick<EngineHostOptions, "cacheDir" | "createClient" | "maxRestarts">;
  shippedAtlasDir?: string | null;
}

export class Ctx {
  config: MonetLensConfig;
  readonly host: EngineHost;
  readonly masks: MaskStore;
  /** Single experts switched from expert cards, and the named expert sets. */
  readonly experts: ExpertSwitches;
  readonly atlases: AtlasManager;
  readonly controller: CompletionController;
  readonly ui: Ui;
  readonly log: Logger;
  readonly storageDir: string;
  private activeLanguage: string | undefined;
  private conversionShown = false;
  private disposed = false;
  private readonly disposers: Array<() => void> = [];

  constructor(private readonly opts: CtxOptions) {
    this.ui = opts.ui;
    this.log = opts.log;
    this.storageDir = opts.storageDir;
    this.config = this.readConfig();
    this.masks = new MaskStore(opts.workspaceState);
    this.experts = new ExpertSwitches(opts.workspaceState);
    this.atlases = new AtlasManager({
      state: opts.workspaceState,
      log: (l) => this.log.info(l),
      warn: (l) => {
        this.log.warn(l);
        void this.ui.warn(`Monet Lens: ${l}`);
      },
      shippedDir: opts.shippedAtlasDir,
    });
    // Converted models go to the extension's own storage (or where MONET_LENS_CACHE says).
    const cacheDir = opts.engine?.cacheDir ?? cacheDirFor(join(opts.storageDir, "cache"));
    this.host = new EngineHost({
      settings: this.engineSettings(),
      log: (l) => this.log.info(l),
      ...opts.engine,
      cacheDir,
    });
    this.controller = new CompletionController({
      engine: this.host,
      model: () => this.host.model(),
      steering: () => this.steering(),
      settings: () => this.config,
      onEvent: (e) => this.onCompletionEvent(e),
    });
    this.disposers.push(
      this.host.onDidChangeState((s) => {
        if (s.kind === "ready") {
          void this.showDevice(s.info);
          this.lookUpAtlas(s.info);
        }
        if (s.kind === "loading" && s.progress) this.showConversion();
        if (s.kind === "failed") void this.explainFailure(s.message, s.missingModel);
        this.updateStatus({ engine: s });
      }).dispose,
      this.host.onDidChangeBusy((busy) => this.updateStatus({ busy })).dispose,
      this.host.onDidCrash(() =>
        this.ui.note?.(
          "Monet Lens: the engine stopped unexpectedly; it restarts with the next " +
            "suggestion (details in the log)",
        ),
      ).dispose,
      this.masks.onDidChange(() => this.masksChanged()).dispose,
      this.experts.onDidChange((x) => {
        this.controller.cancel();
        this.log.info(`switched experts: ${x.scales.map(([e, s]) => `${e}×${s}`).join(", ") || "none"}`);
      }).dispose,
      this.atlases.onDidChange((a) =>
        this.updateStatus({ atlas: a ? { path: a.path, source: a.source } : undefined }),
      ).dispose,
    );
    this.updateStatus({
      engine: this.host.state,
      modelName: this.modelName(),
      masked: this.masks.current(),
      scales: this.masks.scales(),
      cpu: cpuDescription(),
    });
  }

  /** The settings changed: re-read them; a new model or provider replaces the engine. */
  async configChanged(affects: (key: string) => boolean): Promise<void> {
    const before = this.config;
    this.config = this.readConfig();
    if (affects("atlasPath")) await this.atlases.settingChanged();
    if (engineSettingsChanged(before, this.config)) {
      this.controller.reset();
      this.updateStatus({ modelName: this.modelName(), last: undefined });
    }
    if (await this.host.configure(this.engineSettings())) this.updateStatus({ device: undefined });
    if (
      before.maxTokens !== this.config.maxTokens ||
      before.temperature !== this.config.temperature ||
      before.topP !== this.config.topP
    )
      this.controller.cancel();
    this.refreshDisabled();
  }

  /** Whether automatic completion runs for a language. */
  enabledFor(languageId: string): boolean {
    return languageEnabled(languageId, this.config.enabledLanguages, this.opts.enableFor(languageId));
  }

  /** The active editor's language (undefined: no editor), for the status bar. */
  setActiveLanguage(languageId: string | undefined): void {
    this.activeLanguage = languageId;
    this.refreshDisabled();
  }

  get activeLanguageId(): string | undefined {
    return this.activeLanguage;
  }

  /** The running engine's info, starting it if needed. */
  async engineInfo(): Promise<EngineInfo> {
    return this.host.info ?? (await this.host.start());
  }

  /**
   * The active atlas for the running model (starts the engine: the atlas is matched to the model's
   * fingerprint).
   */
  async activeAtlas(): Promise<ActiveAtlas | undefined> {
    return this.atlases.active(await this.engineInfo(), this.config.atlasPath);
  }

  /** The steering completions use now: the languages' scales (masks: 0) through the active atlas. */
  async steering(): Promise<Steering | undefined> {
    const selection = this.masks.selection();
    const switched = this.experts.scaled();
    const hasLanguages = Object.keys(selection.languages ?? {}).length > 0;
    if (!hasLanguages && switched.length === 0) return undefined;
    let base: Steering | undefined;
    if (hasLanguages) {
      const r = this.atlases.steering(await this.activeAtlas(), selection);
      this.updateStatus({ maskIgnored: r.ignored });
      base = r.steering.key ? r.steering : undefined;
    }
    if (switched.length === 0) return base;
    // Experts switched on expert cards join the languages' steering (one pipeline).
    const c = (await this.engineInfo()).identity.config;
    return withExpertScales(base, switched, { groups: c.routingGroups, experts: c.moeExperts }).steering;
  }

  modelName(): string {
    if (this.config.modelPath) return basename(this.config.modelPath);
    try {
      return basename(embeddedModelDir());
    } catch {
      return "embedded model";
    }
  }

  updateStatus(patch: Parameters<StatusBar["update"]>[0]): void {
    this.opts.status?.update(patch);
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    for (const d of this.disposers) d();
    this.controller.reset();
    this.masks.dispose();
    this.experts.dispose();
    this.atlases.dispose();
    this.opts.status?.dispose();
    await this.host.dispose();
  }

  private readConfig(): MonetLensConfig {
    const { config, problems } = readConfig(this.opts.settings());
    for (const p of problems) {
      this.log.warn(p);
      void this.ui.warn(`Monet Lens: ${p}`);
    }
    return config;
  }

  private engineSettings(): EngineSettings {
    const c = this.config;
    return {
      modelDir: c.modelPath || undefined,
      ep: c.executionProvider,
      dtype: c.dtype,
      threads: c.threads,
      hugePages: c.hugePages,
      idleUnloadMs: c.idleUnloadMinutes * 60_000,
    };
  }

  private masksChanged(): void {
    // New masks apply to the next request at once: stop what runs under the old ones.
    this.controller.cancel();
    this.updateStatus({ masked: this.masks.current(), scales: this.masks.scales(), maskIgnored: [] });
    this.log.info(`masked languages: ${this.masks.current().join(", ") || "none"}`);
    const steered = steeringText(this.masks.scales());
    if (
      steered !==
      this.masks
        .current()
        .map((l) => `−${l}`)
        .join(", ")
    )
      this.log.info(`language steering: ${steered || "none"}`);
    void this.steering().catch(() => undefined);
  }

  /** Why the last request showed nothing (for a manual trigger's message). */
  lastSkipReason: string | undefined;
  private lastFailure = { message: "", at: 0 };

  private onCompletionEvent(e: CompletionEvent): void {
    switch (e.type) {
      case "skipped":
        this.lastSkipReason = e.reason;
        this.log.debug?.(`no suggestion: ${e.reason}`);
        return;
      case "shown":
        this.lastSkipReason = undefined;
        this.updateStatus({
          last: {
            latencyMs: e.suggestion.latencyMs,
            tokensPerS: e.suggestion.result?.decodeTokensPerS || undefined,
            source: e.suggestion.source,
          },
        });
        return;
      case "generated":
        this.log.info(
          `completion: ${e.result.ids.length} tokens (${e.result.promptTokens} prompt tokens, ` +
            `${e.result.reusedTokens} from the cache), prefill ${e.result.prefillMs.toFixed(0)} ` +
            `ms, ${e.result.decodeTokensPerS.toFixed(1)} tokens/s, stop: ` +
            `${e.result.stopReason}${e.completion ? "" : ", nothing to suggest"}`,
        );
        return;
      case "failed": {
        this.lastSkipReason = e.error.message;
        // The same failure on every keystroke is logged once a minute.
        const now = Date.now();
        if (e.error.message !== this.lastFailure.message || now - this.lastFailure.at > 60_000)
          this.log.error(`completion failed: ${e.error.message}`);
        this.lastFailure = { message: e.error.message, at: now };
        return;
      }
      default:
        return;
    }
  }

  private refreshDisabled(): void {
    const lang = this.activeLanguage;
    let disabled: string | undefined;
    if (lang !== undefined && !this.enabledFor(lang)) {
      disabled =
        `Automatic completion is off for ${lang} (settings monetLens.enable, ` +
        `monetLens.enabledLanguages); Monet Lens: Suggest Completion still works`;
    }
    this.updateStatus({ disabled });
  }

  /**
   * A failed engine is said once, with the way out (suggestions must not just stop appearing):
   * a model that is not downloaded yet offers its download.
   */
  private async explainFailure(message: string, missingModel?: string): Promise<void> {
    const log = "Show Log";
    const restart = "Restart Engine";
    const download = "Download Model";
    const choice = await this.ui.error(
      `Monet Lens: ${message}`,
      ...(missingModel ? [download, log] : [log, restart]),
    );
    if (choice === log) await this.ui.executeCommand(commandId("showLog"));
    if (choice === restart) await this.ui.executeCommand(commandId("restartEngine"));
    if (choice === download) await this.ui.executeCommand(commandId("downloadModel"), missingModel);
  }

  /** Finds the model's atlas as soon as the model runs, so the status shows it. */
  private lookUpAtlas(info: EngineInfo): void {
    try {
      this.atlases.active(info, this.config.atlasPath);
    } catch (e) {
      this.log.warn(`looking for the model's atlas failed: ${(e as Error).message}`);
    }
  }

  private async showDevice(info: EngineInfo): Promise<void> {
    const device = await deviceName(info.ep);
    this.updateStatus({ device });
  }

  /** A progress notification while a model converts (first run, or after an update changed the converter). */
  private showConversion(): void {
    if (this.conversionShown) return;
    this.conversionShown = true;
    void this.ui
      .withProgress(
        `Monet Lens: converting ${this.modelName()} to ONNX (first run of this model)`,
        (report, signal) => {
          signal.addEventListener("abort", () => this.host.cancelStart(), { once: true });
          let last = 0;
          return new Promise<void>((resolve) => {
            const sub = this.host.onDidChangeState((s) => {
              if (s.kind === "loading" && s.progress) {
                const pct = Math.floor((100 * s.progress.done) / Math.max(1, s.progress.total));
                report(s.progress.what, pct - last);
                last = pct;
              } else if (s.kind !== "loading") {
                sub.dispose();
                resolve();
              }
            });
          });
        },
      )
      .finally(() => (this.conversionShown = false));
  }
}
