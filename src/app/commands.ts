// The commands, as functions over the context and the UI adapter (rust-analyzer's
// commands.ts). APP_COMMANDS is their table; src/extension/commands.ts adds the two that
// need VS Code itself and registers them all under one prefix.
import { atlasQuality } from "../atlas/quality";
import { confirmQuality, selectAtlas } from "./select-atlas";
import { createHash } from "node:crypto";
import { basename, join } from "node:path";
import { writeAtlasFile } from "../atlas/atlas-file";
import { buildAtlas, type RoutingModel } from "../atlas/build";
import { CancelledError } from "../engine/errors";
import { AtlasManager } from "./atlas-manager";
import { downloadModel } from "./download-model";
import { switchToModel, validateModelFolder } from "./model-switch";
import type { Ctx } from "./ctx";
import { type CommandName, commandId } from "./command-ids";
import type { PickItem } from "./ui";
import { MAX_LANGUAGE_SCALE } from "../atlas/steering-selection";
import { steeringText } from "./status";

/** Asks the editor for an inline suggestion now (no debounce; works where automatic completion is off). */
export async function triggerCompletion(ctx: Ctx): Promise<void> {
  await ctx.ui.executeCommand("editor.action.inlineSuggest.trigger");
}

interface LanguagePick extends PickItem {
  language: string;
}

/** `Monet Lens: Mask Language Experts…`: a multi-select of the atlas's languages. */
export async function maskLanguages(ctx: Ctx): Promise<void> {
  let active: Awaited<ReturnType<Ctx["activeAtlas"]>>;
  try {
    active = await ctx.activeAtlas();
  } catch (e) {
    await ctx.ui.error(`Monet Lens: masks need the model running, and it failed: ${(e as Error).message}`);
    return;
  }
  if (!active) {
    const build = "Build Atlas from Workspace";
    const choice = await ctx.ui.warn(
      `Monet Lens: there is no language atlas for the model ${ctx.modelName()}, so ` +
        `its experts have no languages yet.`,
      build,
    );
    if (choice === build) await buildWorkspaceAtlas(ctx);
    return;
  }
  const masked = new Set(ctx.masks.current());
  const c = active.atlas.model.config;
  const total = c.routingGroups * c.moeExperts * c.moeExperts;
  const items: LanguagePick[] = AtlasManager.languageCounts(active.atlas).map(({ id, experts }) => ({
    language: id,
    label: id,
    description:
      `${experts.toLocaleString("en-US")} experts (${((100 * experts) / total).toFixed(1)} %)` +
      (masked.has(id) ? " · masked now" : ""),
    picked: masked.has(id),
  }));
  const stale = [...masked].filter((l) => !active.atlas.sets.has(l));
  const chosen = await ctx.ui.pickMany(items, {
    title: `Mask Language Experts (${masked.size ? `masked now: ${[...masked].join(", ")}` : "none masked"})`,
    placeholder:
      "Languages whose experts completions run without" +
      (stale.length ? ` — not in this atlas, will be dropped: ${stale.join(", ")}` : ""),
  });
  if (!chosen) return;
  await ctx.masks.set(chosen.map((p) => p.language));
}

/** The scales offered for a language; "Other…" asks for any in [0, MAX_LANGUAGE_SCALE]. */
export const STEER_PRESETS: ReadonlyArray<{ scale: number; note: string }> = [
  { scale: 0, note: "mask: its experts off" },
  { scale: 0.5, note: "damp" },
  { scale: 1, note: "unchanged" },
  { scale: 1.5, note: "amplify" },
  { scale: 2, note: "amplify" },
  { scale: 3, note: "amplify strongly" },
];

/** Parses a typed scale; undefined with the reason when it is not one. */
export function parseScaleInput(text: string): { scale?: number; error?: string } {
  const t = text.trim().replace(/^[×x*]/, "");
  const x = /^(\d+\.?\d*|\.\d+)$/.test(t) ? Number(t) : NaN;
  if (!Number.isFinite(x))
    return { error: "A scale is a number ≥ 0: 0 masks, 1 changes nothing, 2 doubles." };
  if (x > MAX_LANGUAGE_SCALE) return { error: `At most ${MAX_LANGUAGE_SCALE}.` };
  return { scale: x };
}

interface ScalePick extends PickItem {
  scale?: number;
  reset?: boolean;
}

/**
 * `Monet Lens: Steer Language Experts…`: pick a language of the atlas, then its experts' scale
 * (0 masks them, 1 leaves them, above 1 amplifies them); applies to the next completion.
 */
export async function steerLanguages(ctx: Ctx): Promise<void> {
  let active: Awaited<ReturnType<Ctx["activeAtlas"]>>;
  try {
    active = await ctx.activeAtlas();
  } catch (e) {
    await ctx.ui.error(
      `Monet Lens: steering needs the model running, and it failed: ${(e as Error).message}`,
    );
    return;
  }
  if (!active) {
    const build = "Build Atlas from Workspace";
    const choice = await ctx.ui.warn(
      `Monet Lens: there is no language atlas for the model ${ctx.modelName()}, so ` +
        `its experts have no languages to steer yet.`,
      build,
    );
    if (choice === build) await buildWorkspaceAtlas(ctx);
    return;
  }
  const scales = ctx.masks.scales();
  const now = steeringText(scales);
  const languages: ScalePick[] = AtlasManager.languageCounts(active.atlas).map(({ id, experts }) => ({
    label: id,
    description: `×${scales[id] ?? 1}${scales[id] === 0 ? " (masked)" : ""}`,
    detail: `${experts.toLocaleString("en-US")} experts`,
  }));
  if (now) languages.push({ label: "$(clear-all) Reset every language to ×1", reset: true });
  const lang = await ctx.ui.pickOne(languages, {
    title: `Steer Language Experts (now: ${now || "none"})`,
    placeholder: "The language whose experts' routing scores to scale",
  });
  if (!lang) return;
  if (lang.reset) {
    await ctx.masks.clear();
    return;
  }
  const current = scales[lang.label] ?? 1;
  const presets: ScalePick[] = [
    ...STEER_PRESETS.map(({ scale, note }) => ({
      label: `×${scale}`,
      description: `${note}${scale === current ? " · now" : ""}`,
      scale,
    })),
    { label: "Other scale…", description: `0 to ${MAX_LANGUAGE_SCALE}` },
  ];
  const pick = await ctx.ui.pickOne(presets, {
    title: `Scale of ${lang.label}'s experts (now ×${current})`,
    placeholder: "0 masks them, 1 leaves them alone, above 1 amplifies them",
  });
  if (!pick) return;
  let scale = pick.scale;
  if (scale === undefined) {
    const typed = await ctx.ui.input({
      title: `Scale of ${lang.label}'s experts`,
      prompt: `A number from 0 to ${MAX_LANGUAGE_SCALE} (0 masks, 1 changes nothing)`,
      value: String(current),
      validate: (v) => parseScaleInput(v).error,
    });
    if (typed === undefined) return;
    const parsed = parseScaleInput(typed);
    if (parsed.scale === undefined) {
      await ctx.ui.error(`Monet Lens: ${parsed.error}`);
      return;
    }
    scale = parsed.scale;
  }
  await ctx.masks.setScale(lang.label, scale);
}

export async function clearMasks(ctx: Ctx): Promise<void> {
  await ctx.masks.clear();
}

/** Turns automatic completion off (or back on) for the active editor's language. */
export async function toggleLanguage(ctx: Ctx): Promise<void> {
  const lang = ctx.activeLanguageId;
  if (!lang) {
    await ctx.ui.info("Monet Lens: open a file to switch completion for its language.");
    return;
  }
  const enable = !ctx.enabledFor(lang);
  await ctx.ui.updateSetting("enable", enable, lang);
  const list = ctx.config.enabledLanguages;
  if (enable && (list.includes(`!${lang}`) || !(list.includes("*") || list.includes(lang)))) {
    const next = list.filter((l) => l !== `!${lang}`);
    if (!next.includes("*")) next.push(lang);
    await ctx.ui.updateSetting("enabledLanguages", next);
  }
  await ctx.ui.info(`Monet Lens: automatic completion ${enable ? "on" : "off"} for ${lang}.`);
}

/** Turns automatic completion off (or on) everywhere. */
export async function toggleEnabled(ctx: Ctx): Promise<void> {
  const enable = !ctx.config.enable;
  await ctx.ui.updateSetting("enable", enable);
  await ctx.ui.info(
    enable
      ? "Monet Lens: automatic completion on."
      : "Monet Lens: automatic completion off (Monet Lens: Suggest Completion still works).",
  );
}

export { validateModelFolder };

/** `Monet Lens: Select Model Folder…`: validate, convert (progress, cancellable), switch. */
export async function selectModelFolder(ctx: Ctx): Promise<void> {
  const dir = await ctx.ui.pickFolder({
    title: "Select a CodeMonet checkpoint folder (config.json, *.safetensors, tokenizer.model)",
    defaultPath: ctx.config.modelPath || undefined,
  });
  if (!dir) return;
  let description: string;
  try {
    description = await validateModelFolder(dir);
  } catch (e) {
    ctx.log.error(`model folder ${dir} rejected: ${(e as Error).message}`);
    await modelFolderFailed(
      ctx,
      `Monet Lens: this folder is not a usable CodeMonet checkpoint: ${(e as Error).message} (${dir})`,
    );
    return;
  }
  ctx.log.info(`model folder ${dir}: ${description}`);
  await switchToModel(ctx, dir, description, { failed: (m) => modelFolderFailed(ctx, m) });
}

/** A failed model choice: the reason first, then Choose Again and Show Log. */
async function modelFolderFailed(ctx: Ctx, message: string): Promise<void> {
  const pick = await ctx.ui.error(message, "Choose Again", "Show Log");
  if (pick === "Choose Again") await selectModelFolder(ctx);
  else if (pick === "Show Log") await ctx.ui.executeCommand(commandId("showLog"));
}

/**
 * `Monet Lens: Build Language Atlas from Workspace`: routes the workspace's source files
 * through the running model, writes the atlas (atomically) to the extension's storage and
 * makes it the active atlas for this workspace.
 */
export async function buildWorkspaceAtlas(ctx: Ctx): Promise<string | undefined> {
  const folders = ctx.ui.workspaceFolders();
  if (folders.length === 0) {
    await ctx.ui.warn("Monet Lens: open a folder first; the atlas is built from its source files.");
    return undefined;
  }
  let folder = folders[0]!;
  if (folders.length > 1) {
    const pick = await ctx.ui.pickOne(
      folders.map((f) => ({ label: basename(f), description: f, folder: f })),
      { title: "Build the language atlas from which folder?" },
    );
    if (!pick) return undefined;
    folder = pick.folder;
  }
  try {
    const info = await ctx.engineInfo();
    const identity = info.identity;
    const tokenizer = await ctx.host.tokenizer(info.modelDir);
    const routing: RoutingModel = {
      tokenizer,
      routingGroups: identity.config.routingGroups,
      config: info.config,
      route: (text) => ctx.host.route(text),
    };
    const folderId = createHash("sha256").update(folder).digest("hex").slice(0, 10);
    const name = `${identity.name}-${identity.fingerprint.slice(0, 12)}-${folderId}.atlas.json`;
    const out = join(ctx.storageDir, "atlases", name);
    ctx.log.info(`building a language atlas from ${folder} for ${identity.name}`);
    const atlas = await ctx.ui.withProgress(
      `Monet Lens: building the language atlas from ${basename(folder)}`,
      (report, signal) => {
        let last = 0;
        return buildAtlas(routing, {
          corpusDir: folder,
          model: identity,
          signal,
          log: (l) => ctx.log.info(`atlas: ${l}`),
          onProgress: (p) => {
            const pct = Math.floor((100 * p.done) / Math.max(1, p.total));
            report(
              `${p.language}: ${p.done.toLocaleString("en-US")} of ${p.total.toLocaleString("en-US")} tokens`,
              pct - last,
            );
            last = pct;
          },
        });
      },
    );
    writeAtlasFile(out, atlas);
    if (!(await confirmQuality(ctx, `built from ${basename(folder)}`, atlasQuality(atlas)))) {
      ctx.log.info(`atlas ${out} written but not made active (low quality; the user kept the current one)`);
      return out;
    }
    await ctx.atlases.useWorkspaceAtlas(out, identity.fingerprint);
    const counts = AtlasManager.languageCounts(atlas).map((l) => `${l.id} ${l.experts}`);
    const omitted = Object.keys(atlas.corpus.omitted);
    ctx.log.info(
      `atlas written to ${out} in ${atlas.buildSeconds ?? "?"} s: ${counts.join(", ")}${
        omitted.length
          ? `; left out: ${Object.entries(atlas.corpus.omitted)
              .map(([l, why]) => `${l} (${why})`)
              .join(", ")}`
          : ""
      }`,
    );
    await ctx.activeAtlas(); // announce the new atlas (status, heatmap)
    const leftOut = omitted.length ? ` (left out: ${omitted.join(", ")}, too little code)` : "";
    await ctx.ui.info(
      `Monet Lens: language atlas built from ${basename(folder)}: ${counts.join(", ")} experts${leftOut}. ` +
        "It is now the active atlas.",
    );
    return out;
  } catch (e) {
    if (e instanceof CancelledError) {
      ctx.log.info("atlas build cancelled; nothing was written");
      await ctx.ui.info("Monet Lens: atlas build cancelled; nothing was written.");
      return undefined;
    }
    ctx.log.error(`atlas build failed: ${(e as Error).message}`);
    await ctx.ui.error(`Monet Lens: building the atlas failed: ${(e as Error).message}`);
    return undefined;
  }
}

export async function restartEngine(ctx: Ctx): Promise<void> {
  try {
    const info = await ctx.host.restart();
    await ctx.ui.info(`Monet Lens: engine restarted on ${info.ep}.`);
  } catch (e) {
    await ctx.ui.error(`Monet Lens: the engine did not start: ${(e as Error).message}`);
  }
}

export async function unloadModel(ctx: Ctx): Promise<void> {
  await ctx.host.unload();
}

interface MenuPick extends PickItem {
  command: string;
}

/** A command run over the context, with the arguments it was invoked with (unchecked: validate them). */
export type AppCommand = (ctx: Ctx, ...args: unknown[]) => Promise<unknown>;

/** The status bar's menu: the main commands. */
export async function showMenu(ctx: Ctx): Promise<void> {
  const lang = ctx.activeLanguageId;
  const masked = ctx.masks.current();
  const items: MenuPick[] = [
    {
      label: "$(lightbulb) Suggest Completion",
      description: "at the cursor, now",
      command: commandId("triggerCompletion"),
    },
    {
      label: "$(filter) Mask Language Experts…",
      description: masked.length ? `masked: ${masked.join(", ")}` : "none masked",
      command: commandId("maskLanguages"),
    },
    {
      label: "$(settings) Steer Language Experts…",
      description: steeringText(ctx.masks.scales()) || "none steered",
      command: commandId("steerLanguages"),
    },
    ...(Object.keys(ctx.masks.scales()).length
      ? [{ label: "$(clear-all) Clear Masks and Steering", command: commandId("clearMasks") }]
      : []),
    ...(lang
      ? [
          {
            label: `$(circle-slash) ${ctx.enabledFor(lang) ? "Disable" : "Enable"} Completions for ${lang}`,
            command: commandId("toggleLanguage"),
          },
        ]
      : []),
    {
      label:
        `$(debug-${ctx.config.enable ? "pause" : "start"}) ` +
        `${ctx.config.enable ? "Disable" : "Enable"} Completions Everywhere`,
      command: commandId("toggleEnabled"),
    },
    {
      label: "$(symbol-color) Inspect Selection",
      description: "routing heatmap",
      command: commandId("inspectSelection"),
    },
    {
      label: "$(cloud-download) Download Model…",
      description: "CodeMonet 1.4B and the Monet family from the Hugging Face Hub",
      command: commandId("downloadModel"),
    },
    {
      label: "$(folder-opened) Select Model Folder…",
      description: ctx.config.modelPath || "embedded demo model",
      command: commandId("selectModelFolder"),
    },
    { label: "$(book) Build Language Atlas from Workspace", command: commandId("buildAtlas") },
    { label: "$(list-selection) Select Atlas…", command: commandId("selectAtlas") },
    { label: "$(debug-restart) Restart Engine", command: commandId("restartEngine") },
    {
      label: "$(debug-disconnect) Unload Model",
      description: "free its memory until the next completion",
      command: commandId("unloadModel"),
    },
    { label: "$(output) Show Log", command: commandId("showLog") },
    { label: "$(gear) Settings", command: "workbench.action.openSettings" },
  ];
  const pick = await ctx.ui.pickOne(items, { title: "Monet Lens" });
  if (!pick) return;
  if (pick.command === "workbench.action.openSettings")
    await ctx.ui.executeCommand(pick.command, "monetLens");
  else await ctx.ui.executeCommand(pick.command);
}

/**
 * The commands that need only the context, by name; the extension adds showLog (its output
 * channel) and inspectSelection (its webview panel).
 */
export const APP_COMMANDS = {
  triggerCompletion,
  maskLanguages,
  clearMasks,
  steerLanguages,
  selectModelFolder,
  downloadModel,
  buildAtlas: buildWorkspaceAtlas,
  selectAtlas,
  toggleLanguage,
  toggleEnabled,
  restartEngine,
  unloadModel,
  showMenu,
} satisfies Partial<Record<CommandName, AppCommand>>;
