// What the routing heatmap (src/heatmap) needs from the extension: routing and A/B
// continuations through the running engine under the masked languages' steering (the one
// resolver, through AtlasManager.steering), and the mask state.
import type { Atlas } from "../atlas/atlas-file";
import { expertOwners, routeJson, type ExpertOwners } from "../atlas/route-shares";
import { throwIfCancelled } from "../engine/errors";
import type { EngineInfo } from "../engine/protocol";
import { steeringToWire } from "../engine/steering";
import type { HeatmapDeps } from "../heatmap/deps";
import type { RouteData } from "../heatmap-shared/route-data";
import { AtlasManager, type ActiveAtlas } from "./atlas-manager";
import type { Ctx } from "./ctx";

/** An error the heatmap shows as its no-model state. */
export class NoModelError extends Error {
  readonly code = "NO_MODEL";
}

export function heatmapDeps(ctx: Ctx): HeatmapDeps {
  let owners: { atlas: Atlas; owners: ExpertOwners } | undefined;
  const ownersOf = (a: ActiveAtlas): ExpertOwners => {
    if (owners?.atlas !== a.atlas) owners = { atlas: a.atlas, owners: expertOwners(a.atlas) };
    return owners.owners;
  };
  const model = async (): Promise<EngineInfo> => {
    try {
      return await ctx.engineInfo();
    } catch (e) {
      throw new NoModelError(`The model is not available: ${(e as Error).message}`);
    }
  };
  const cancelled = (signal?: AbortSignal) => throwIfCancelled(signal);
  const pieces = async (ids: number[]) => {
    const tok = await ctx.host.tokenizer();
    return ids.map((id) => tok.idToPiece(id));
  };

  return {
    async route(text: string, masked: readonly string[], signal?: AbortSignal): Promise<RouteData> {
      const info = await model();
      cancelled(signal);
      const active = ctx.atlases.active(info, ctx.config.atlasPath);
      const { steering, applied } = ctx.atlases.steering(active, masked);
      const routed = await ctx.host.route(text, steering);
      cancelled(signal);
      return routeJson({
        model: info.modelDir,
        atlasPath: active?.path ?? null,
        text,
        routed,
        owners: active ? ownersOf(active) : undefined,
        steering,
        masked: applied,
        topK: 3,
      });
    },

    async compare(prompt: string, masked: readonly string[], signal?: AbortSignal) {
      const info = await model();
      const { steering } = ctx.atlases.steering(ctx.atlases.active(info, ctx.config.atlasPath), masked);
      const params = {
        prompt,
        maxTokens: ctx.config.maxTokens,
        temperature: 0,
        timeLimitMs: Math.max(ctx.config.timeLimitMs, 10_000),
      };
      const plain = await ctx.host.generate(params, { signal });
      cancelled(signal);
      const withMasks = await ctx.host.generate(
        { ...params, steering: steeringToWire(steering) },
        { signal },
      );
      cancelled(signal);
      return {
        plain: { text: plain.text, ids: plain.ids, pieces: await pieces(plain.ids) },
        masked: { text: withMasks.text, ids: withMasks.ids, pieces: await pieces(withMasks.ids) },
      };
    },

    masks: {
      current: () => ctx.masks.current(),
      toggle: (language: string) => ctx.masks.toggle(language),
      onDidChange: ctx.masks.onDidChange,
    },

    atlasLanguages() {
      const info = ctx.host.info;
      if (!info) return undefined;
      try {
        const active = ctx.atlases.active(info, ctx.config.atlasPath);
        return active ? AtlasManager.languageCounts(active.atlas) : undefined;
      } catch {
        return undefined;
      }
    },

    log: (line: string) => ctx.log.info(line),
  };
}
