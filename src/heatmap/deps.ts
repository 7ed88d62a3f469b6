// What the routing view needs from the rest of the extension (src/app/heatmap-deps.ts
// provides it; src/extension/heatmap-view.ts hands it to the panel). Types only, and no
// VS Code types: cancellation is an AbortSignal, events have vscode.Event's call shape.
import type { Continuation, RouteData } from "../heatmap-shared/route-data";

/** Subscribes to an event (the call shape of vscode.Event). */
export type Subscribe<T> = (listener: (value: T) => unknown) => { dispose(): void };

export interface HeatmapDeps {
  /**
   * Route `text` with the given languages masked (monet-lens route --json's data). Reject
   * with an Error whose `code` is "NO_MODEL" when no model is available: the view then
   * shows its no-model state with the error's message.
   */
  route(text: string, masked: readonly string[], signal?: AbortSignal): Promise<RouteData>;
  /** Greedy continuations of `prompt` without and with the masks. */
  compare(
    prompt: string,
    masked: readonly string[],
    signal?: AbortSignal,
  ): Promise<{ plain: Continuation; masked: Continuation }>;
  masks: {
    current(): readonly string[];
    toggle(language: string): Promise<void>;
    onDidChange: Subscribe<readonly string[]>;
  };
  /** The active atlas's languages, or undefined when the model has no atlas. */
  atlasLanguages(): Array<{ id: string; experts: number }> | undefined;
  log(line: string): void;
}
