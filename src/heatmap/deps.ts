// What the routing view needs from the rest of the extension (the extension engineer
// provides it in activate; register.ts re-exports these types). Types only.
import type * as vscode from "vscode";
import type { Continuation, RouteData } from "./route-data";

export interface HeatmapDeps {
  /**
   * Route `text` with the given languages masked (monet-lens route --json's data). Reject
   * with an Error whose `code` is "NO_MODEL" when no model is available: the view then
   * shows its no-model state with the error's message.
   */
  route(text: string, masked: readonly string[], token?: vscode.CancellationToken): Promise<RouteData>;
  /** Greedy continuations of `prompt` without and with the masks. */
  compare(
    prompt: string,
    masked: readonly string[],
    token?: vscode.CancellationToken,
  ): Promise<{ plain: Continuation; masked: Continuation }>;
  masks: {
    current(): readonly string[];
    toggle(language: string): Promise<void>;
    onDidChange: vscode.Event<readonly string[]>;
  };
  /** The active atlas's languages, or undefined when the model has no atlas. */
  atlasLanguages(): Array<{ id: string; experts: number }> | undefined;
  log(line: string): void;
}
