// What the routing view's expert cards need from the extension: the active atlas's expert
// statistics (profile, strongest experts, corpus contexts), contexts ranked in the user's
// files, the exact effect at the cursor through the running engine (src/atlas/expert-effect.ts),
// and the switches that reach completions (ExpertSwitches, folded into Ctx.steering()).
import type { Atlas } from "../atlas/atlas-file";
import { cardContext, expertCardData, expertListData } from "../atlas/expert-card";
import { contextsFromFiles } from "../atlas/expert-contexts";
import { effectAt, type EffectModel } from "../atlas/expert-effect";
import { parseExpertId, type ExpertId } from "../atlas/expert-id";
import { openExpertStats } from "../atlas/expert-profile";
import type { ExpertStatsFile } from "../atlas/expert-stats";
import { throwIfCancelled } from "../engine/errors";
import type { EngineInfo } from "../engine/protocol";
import { steeringToWire } from "../engine/steering";
import type { ExpertCardDeps } from "../heatmap/deps";
import type { ExpertCardData } from "../heatmap-shared/expert-card-data";
import type { Ctx } from "./ctx";
import { NoModelError } from "./heatmap-deps";

/** Tokens read when ranking an expert's tokens in the open file or the workspace. */
export const CONTEXT_TOKEN_BUDGET = 12_000;
/** Tokens of greedy continuation with and without the expert. */
export const EFFECT_TOKENS = 16;

export function expertCardDeps(ctx: Ctx): ExpertCardDeps & { dispose(): void } {
  let open: { atlas: Atlas; path: string; stats: ExpertStatsFile } | undefined;

  const model = async (): Promise<EngineInfo> => {
    try {
      return await ctx.engineInfo();
    } catch (e) {
      throw new NoModelError(`The model is not available: ${(e as Error).message}`);
    }
  };
  /** The active atlas with its statistics (kept open while it stays the active one). */
  const atlasStats = async () => {
    const info = await model();
    const active = ctx.atlases.active(info, ctx.config.atlasPath);
    if (!active)
      throw new Error(
        "There is no language atlas for this model, so there are no expert cards: build one with " +
          "Monet Lens: Build Language Atlas from Workspace (or monet-lens atlas build).",
      );
    if (open?.atlas !== active.atlas) {
      open?.stats.close();
      open = undefined;
      open = { atlas: active.atlas, path: active.path, stats: openExpertStats(active.path, active.atlas) };
    }
    return { info, ...open };
  };
  const expertOf = (info: EngineInfo, expert: string): ExpertId =>
    parseExpertId(expert, { groups: info.identity.config.routingGroups, experts: info.config.moeExperts });

  return {
    async card(expert: string): Promise<ExpertCardData> {
      const { info, atlas, path, stats } = await atlasStats();
      const x = expertOf(info, expert);
      return expertCardData(path, atlas, stats, x);
    },

    async strongest(language: string, top: number) {
      const { atlas, stats } = await atlasStats();
      return expertListData(atlas, stats, language, top);
    },

    async contextsIn(expert: string, paths: readonly string[], signal?: AbortSignal) {
      const info = await model();
      const x = expertOf(info, expert);
      const tokenizer = await ctx.host.tokenizer();
      const r = await contextsFromFiles(
        { tokenizer, config: info.config, route: (text) => ctx.host.route(text) },
        paths,
        x,
        { top: 5, maxTokens: CONTEXT_TOKEN_BUDGET, signal },
      );
      return { contexts: r.contexts.map(cardContext), tokens: r.tokens, files: r.files };
    },

    async effect(expert: string, scale: number, prompt: string, signal?: AbortSignal) {
      const info = await model();
      const x = expertOf(info, expert);
      const tokenizer = await ctx.host.tokenizer();
      const effectModel: EffectModel = {
        shape: { groups: info.identity.config.routingGroups, experts: info.config.moeExperts },
        nextLogits: async (p, steering) => {
          throwIfCancelled(signal);
          return ctx.host.nextLogits(p, steering);
        },
        greedy: async (p, steering, maxTokens) => {
          throwIfCancelled(signal);
          const r = await ctx.host.generate(
            { prompt: p, maxTokens, temperature: 0, timeLimitMs: 15_000, steering: steeringToWire(steering) },
            { signal },
          );
          return r.text;
        },
        piece: (id) => tokenizer.idToPiece(id),
      };
      const effect = await effectAt(effectModel, prompt, x, { scale, continuationTokens: EFFECT_TOKENS });
      throwIfCancelled(signal);
      return effect;
    },

    switches: {
      current: () => ctx.experts.current(),
      setScale: (expert, scale) => ctx.experts.setScale(expert, scale),
      addToSet: (expert, set) => ctx.experts.addToSet(expert, set),
      applySet: (set, scale) => ctx.experts.applySet(set, scale),
      onDidChange: ctx.experts.onDidChange,
    },

    dispose() {
      open?.stats.close();
      open = undefined;
    },
  };
}
