// What the routing heatmap (src/heatmap) needs from the extension: routing and A/B
// continuations through the running engine, with the atlas's masks, and the mask state.
import { expertOwners, routeJson, type ExpertOwners } from "../atlas/route-shares";
import { CancelledError } from "../engine/engine-client";
import type { EngineInfo } from "../engine/protocol";
import type { HeatmapDeps, RouteData } from "../extension/heatmap-view";
import { AtlasManager, type ActiveAtlas } from "./atlas-manager";
import type { Ctx } from "./ctx";

/** An error the heatmap shows as its no-model state. */
export class NoModelError extends Error {
  readonly code = "NO_MODEL";
}

export function heatmapDeps(ctx: Ctx): HeatmapDeps {
  let owners: { id: string; owners: ExpertOwners } | undefined;
  const ownersOf = (a: ActiveAtlas) =>
    owners?.id === a.id ? owners.owners : (owners = { id: a.id, owners: expertOwners(a.atlas) }).owners;
  const model = async (): Promise<EngineInfo> => {
    try {
      return await ctx.engineInfo();
    } catch (e) {
      throw new NoModelError(`The model is not available: ${(e as Error).message}`);
    }
  };
  const cancelled = (signal?: AbortSignal) => {
    if (signal?.aborted) throw new CancelledError("cancelled");
  };
  const pieces = (ids: number[]) => {
    const tok = ctx.host.tokenizer();
    return ids.map((id) => tok.idToPiece(id));
  };

  return {
    async route(text: string, masked: readonly string[], signal?: AbortSignal): Promise<RouteData> {
      const info = await model();
      cancelled(signal);
      const active = ctx.atlases.active(info, ctx.config.atlasPath);
      const m = ctx.atlases.masks(active, masked);
      const routed = await ctx.host.route(text, m.spec);
      cancelled(signal);
      const E = info.config.moeExperts;
      const maskedCells =
        active && m.applied.length
          ? Array.from({ length: info.routingGroups }, (_, g) => {
              const cells = new Uint8Array(E * E);
              for (const l of m.applied) for (const e of active.atlas.sets.get(l)![g]!) cells[e] = 1;
              return cells;
            })
          : undefined;
      return routeJson({
        model: info.modelDir,
        atlasPath: active?.path ?? null,
        text,
        routed,
        owners: active ? ownersOf(active) : undefined,
        masked: maskedCells ? { languages: m.applied, groups: maskedCells } : undefined,
        topK: 3,
      });
    },

    async compare(prompt: string, masked: readonly string[], signal?: AbortSignal) {
      const info = await model();
      const m = ctx.atlases.masks(ctx.atlases.active(info, ctx.config.atlasPath), masked);
      const params = {
        prompt,
        maxTokens: ctx.config.maxTokens,
        temperature: 0,
        timeLimitMs: Math.max(ctx.config.timeLimitMs, 10_000),
      };
      const plain = await ctx.host.generate(params, { signal });
      cancelled(signal);
      const withMasks = await ctx.host.generate({ ...params, masks: m.spec }, { signal });
      cancelled(signal);
      return {
        plain: { text: plain.text, ids: plain.ids, pieces: pieces(plain.ids) },
        masked: { text: withMasks.text, ids: withMasks.ids, pieces: pieces(withMasks.ids) },
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
