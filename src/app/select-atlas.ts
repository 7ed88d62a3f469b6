// `Monet Lens: Select Atlas…`: every atlas for the running model — the shipped one, those
// built from workspaces (the extension's storage), the monetLens.atlasPath file — with its
// classes, training tokens and quality, plus a file browser; the choice becomes the active
// atlas for this workspace, after a confirmation when its quality is low (src/atlas/quality.ts).
import { basename, join } from "node:path";
import { type AtlasCandidate, listAtlases } from "../atlas/atlas-store";
import { type AtlasQuality, qualityLines } from "../atlas/quality";
import { className } from "../heatmap-shared/class-names";
import type { Ctx } from "./ctx";
import type { PickItem } from "./ui";

interface AtlasPick extends PickItem {
  candidate?: AtlasCandidate;
  browse?: true;
}

const num = (n: number) => n.toLocaleString("en-US");

/** The picker's line for an atlas: its classes with their token counts. */
export function candidateDescription(c: AtlasCandidate): string {
  if (!c.usable) return c.problem ?? "not usable";
  const langs = (c.languages ?? []).map((l) => `${className(l)} ${num(c.tokens?.[l] ?? 0)}`);
  const controls = (c.controls ?? []).map((l) => `${className(l)} (control) ${num(c.tokens?.[l] ?? 0)}`);
  return `${[...langs, ...controls].join(", ")} tokens`;
}

/** The confirmation a low-quality atlas needs, or undefined when it needs none. */
export function lowQualityMessage(name: string, q: AtlasQuality | undefined): string | undefined {
  if (q?.level !== "low") return undefined;
  const lines = qualityLines(q).slice(0, 4);
  return `The atlas ${name} is of low quality: ${lines.join("; ")}. Its language labels may be wrong. Use it anyway?`;
}

/** Asks before a low-quality atlas becomes the active one; true to go on. */
export async function confirmQuality(ctx: Ctx, name: string, q: AtlasQuality | undefined): Promise<boolean> {
  const message = lowQualityMessage(name, q);
  if (!message) return true;
  const pick = await ctx.ui.warn(`Monet Lens: ${message}`, "Use It", "Keep the Current Atlas");
  return pick === "Use It";
}

export async function selectAtlas(ctx: Ctx): Promise<void> {
  const info = await ctx.engineInfo();
  const active = ctx.atlases.active(info, ctx.config.atlasPath);
  const list = listAtlases(info.identity, {
    shippedDir: ctx.atlases.shippedFolder ?? null,
    workspaceDirs: [join(ctx.storageDir, "atlases")],
    files: ctx.config.atlasPath ? [ctx.config.atlasPath] : [],
  });
  const items: AtlasPick[] = list.map((c) => ({
    label: `${c.path === active?.path ? "$(check) " : ""}${c.source}: ${basename(c.path)}`,
    description: candidateDescription(c),
    detail: c.usable
      ? c.quality?.level === "low"
        ? `$(warning) low quality: ${qualityLines(c.quality).slice(0, 2).join("; ")}`
        : `quality ok${c.hasBaselines ? "" : " · version 1: no baselines (no lift, no dominance)"}`
      : undefined,
    candidate: c,
  }));
  items.push({ label: "$(folder-opened) Browse…", description: "an .atlas.json file", browse: true });
  const pick = await ctx.ui.pickOne(items, {
    title: `Select the language atlas for ${info.identity.name}`,
    placeholder: active ? `active: ${basename(active.path)}` : "no atlas is active",
  });
  if (!pick) return;
  let chosen = pick.candidate;
  if (pick.browse) {
    const file = await ctx.ui.pickFile?.({ title: "Select a language atlas (.atlas.json)" });
    if (!file) return;
    chosen = listAtlases(info.identity, { shippedDir: null, files: [file] })[0];
  }
  if (!chosen) return;
  if (!chosen.usable) {
    await ctx.ui.error(
      `Monet Lens: ${basename(chosen.path)} cannot be used: ${chosen.problem ?? "unreadable"}`,
    );
    return;
  }
  if (!(await confirmQuality(ctx, basename(chosen.path), chosen.quality))) return;
  await ctx.atlases.useWorkspaceAtlas(chosen.path, info.identity.fingerprint);
  ctx.log.info(`atlas selected: ${chosen.path} (${chosen.source})`);
  await ctx.activeAtlas(); // announce it (status bar, heatmap)
  ctx.ui.note?.(`Monet Lens: atlas ${basename(chosen.path)} is now active`);
}
