// What the routing heatmap (src/heatmap) needs from the extension: routing and A/B
// continuations through the running engine under the masked languages' steering (the one
// resolver, through AtlasManager.steering), and the mask state.
import type { Atlas } from "../atlas/atlas-file";
import { expertOwners, routeJson, type ExpertOwners } from "../atlas/route-shares";
import { throwIfCancelled } from "../engine/errors";
import type { EngineInfo } from "../engine/protocol";
import { type Steering, steeringToWire } from "../engine/steering";
import type { HeatmapDeps, LanguageSteer } from "../heatmap/deps";
import type { SteeringSelection } from "../atlas/steering-selection";
import type { RouteData } from "../heatmap-shared/route-data";
import { AtlasManager, type ActiveAtlas } from "./atlas-manager";
import type { Ctx } from "./ctx";

/** An error the heatmap shows as its no-model state. */
export class NoModelError extends Error {
  readonly code = "NO_MODEL";
}

/** The resolver's input for a list of masked languages (kept as is: the atlas manager caches by it) or scales. */
function selectionOf(steer: LanguageSteer): readonly string[] | SteeringSelection {
  return isList(steer) ? steer : { languages: steer };
}

function isList<T>(x: readonly string[] | T): x is readonly string[] {
  return Array.isArray(x);
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
    async route(text: string, steer: LanguageSteer, signal?: AbortSignal): Promise<RouteData> {
      const info = await model();
      cancelled(signal);
      const active = ctx.atlases.active(info, ctx.config.atlasPath);
      const { steering, applied } = ctx.atlases.steering(active, selectionOf(steer));
      const routed = await ctx.host.route(text, steering.key ? steering : undefined);
      cancelled(signal);
      const selection = selectionOf(steer);
      return routeJson({
        model: info.modelDir,
        atlasPath: active?.path ?? null,
        text,
        routed,
        owners: active ? ownersOf(active) : undefined,
        steering,
        masked: isList(selection) ? applied : applied.filter((l) => selection.languages?.[l] === 0),
        topK: 3,
      });
    },

    async measure(text: string) {
      const info = await model();
      const tok = await ctx.host.tokenizer(info.modelDir);
      const spans = tok
        .encodeWithSpans(text, { addBos: false })
        .spans.map((x): [number, number] => [x[0], x[1]]);
      return { spans, limit: info.config.maxPositionEmbeddings };
    },

    async compare(prompt, sides, signal) {
      const info = await model();
      const active = ctx.atlases.active(info, ctx.config.atlasPath);
      const [a, b] = isList(sides)
        ? [{}, { languages: Object.fromEntries(sides.map((l) => [l, 0])) }]
        : [{ languages: sides.a }, { languages: sides.b }];
      const steerA = ctx.atlases.steering(active, a).steering;
      const steerB = ctx.atlases.steering(active, b).steering;
      const params = {
        prompt,
        maxTokens: ctx.config.maxTokens,
        temperature: 0,
        timeLimitMs: Math.max(ctx.config.timeLimitMs, 10_000),
      };
      const run = async (s: Steering) => {
        const r = await ctx.host.generate({ ...params, steering: steeringToWire(s) }, { signal });
        cancelled(signal);
        return r;
      };
      const outA = await run(steerA);
      const outB = await run(steerB);
      // Each continuation's tokens scored under both settings (4 forward passes of prompt + continuation).
      const tok = await ctx.host.tokenizer();
      const promptIds = tok.encode(prompt);
      const score = async (ids: number[], own: Steering, other: Steering) => {
        if (ids.length === 0) return { own: [], other: [] };
        try {
          const all = [...promptIds, ...ids];
          const x = await ctx.host.score(all, promptIds.length, own.key ? own : undefined);
          cancelled(signal);
          const y = await ctx.host.score(all, promptIds.length, other.key ? other : undefined);
          cancelled(signal);
          return { own: x, other: y };
        } catch (e) {
          throwIfCancelled(signal);
          ctx.log.info(`A/B: the continuation's log-probabilities are not shown: ${(e as Error).message}`);
          return undefined;
        }
      };
      const side = async (r: { text: string; ids: number[] }, own: Steering, other: Steering) => ({
        text: r.text,
        ids: r.ids,
        pieces: await pieces(r.ids),
        logprobs: await score(r.ids, own, other),
      });
      return { plain: await side(outA, steerA, steerB), masked: await side(outB, steerB, steerA) };
    },

    masks: {
      current: () => ctx.masks.current(),
      toggle: (language: string) => ctx.masks.toggle(language),
      scales: () => ctx.masks.scales(),
      setScale: (language: string, scale: number) => ctx.masks.setScale(language, scale),
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
