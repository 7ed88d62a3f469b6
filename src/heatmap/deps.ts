// What the routing view needs from the rest of the extension (src/app/heatmap-deps.ts
// provides it; src/extension/heatmap-view.ts hands it to the panel). Types only, and no
// VS Code types: cancellation is an AbortSignal, events have vscode.Event's call shape.
import type {
  CardContext,
  ExpertCardData,
  ExpertEffect,
  ExpertListData,
  ExpertSwitchesData,
} from "../heatmap-shared/expert-card-data";
import type { Continuation, RouteData } from "../heatmap-shared/route-data";
import type { LanguageScales } from "../heatmap-shared/steer";

/** Masked languages, or languages with their experts' scales (masked ones at 0). */
export type LanguageSteer = readonly string[] | LanguageScales;

/** Subscribes to an event (the call shape of vscode.Event). */
export type Subscribe<T> = (listener: (value: T) => unknown) => { dispose(): void };

export interface HeatmapDeps {
  /**
   * Route `text` with the given languages masked (monet-lens route --json's data). Reject
   * with an Error whose `code` is "NO_MODEL" when no model is available: the view then
   * shows its no-model state with the error's message.
   */
  route(text: string, steer: LanguageSteer, signal?: AbortSignal): Promise<RouteData>;
  /**
   * Greedy continuations of `prompt` under two settings: without and with the masks (a list),
   * or under `a` and `b`; each continuation's tokens get their log-probabilities under both.
   */
  compare(
    prompt: string,
    sides: readonly string[] | { a: LanguageScales; b: LanguageScales },
    signal?: AbortSignal,
  ): Promise<{ plain: Continuation; masked: Continuation }>;
  /**
   * The text's token spans ([start, end) UTF-16 offsets) and how many positions the model
   * reads at once (BOS included), to offer a part of a selection longer than that.
   */
  measure?(text: string): Promise<{ spans: Array<[number, number]>; limit: number }>;
  masks: {
    current(): readonly string[];
    toggle(language: string): Promise<void>;
    /** Every steered language's scale (masked ones at 0). */
    scales(): LanguageScales;
    setScale(language: string, scale: number): Promise<void>;
    onDidChange: Subscribe<readonly string[]>;
  };
  /** The active atlas's languages, or undefined when the model has no atlas. */
  atlasLanguages(): Array<{ id: string; experts: number }> | undefined;
  log(line: string): void;
  /** Expert cards (absent: the view's expert tab says they are unavailable). */
  experts?: ExpertCardDeps;
}

/**
 * What expert cards need (src/app/expert-cards.ts provides it). Errors are shown on the
 * card's tab with their message (an Error with code "NO_MODEL" as the no-model state).
 */
export interface ExpertCardDeps {
  /** The card of `expert` (gG:I:J) from the active atlas and its expert statistics. */
  card(expert: string): Promise<ExpertCardData>;
  /** A language's (or control class's) strongest experts. */
  strongest(language: string, top: number): Promise<ExpertListData>;
  /** The expert's top tokens in these files or folders (runs the model). */
  contextsIn(
    expert: string,
    paths: readonly string[],
    signal?: AbortSignal,
  ): Promise<{ contexts: CardContext[]; tokens: number; files: number }>;
  /** The exact effect of scaling the expert by `scale` at the end of `prompt`. */
  effect(expert: string, scale: number, prompt: string, signal?: AbortSignal): Promise<ExpertEffect>;
  switches: {
    current(): ExpertSwitchesData;
    /** Scale the expert in completions (1 removes the switch). */
    setScale(expert: string, scale: number): Promise<void>;
    addToSet(expert: string, set: string): Promise<void>;
    applySet(set: string, scale: number): Promise<void>;
    onDidChange: Subscribe<ExpertSwitchesData>;
  };
}
