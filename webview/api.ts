// The page's side of the VS Code webview API: typed messages to the extension and the
// state VS Code keeps for the page while it is hidden.
import type { FromWebview, Tab } from "../src/heatmap-shared/messages";
import type { GroupChoice, Metric } from "../src/heatmap-shared/view-model";

interface VsCodeApi {
  postMessage(message: unknown): void;
  getState(): unknown;
  setState(state: unknown): void;
}

declare const acquireVsCodeApi: () => VsCodeApi;

const api = acquireVsCodeApi();

export function post(message: FromWebview): void {
  api.postMessage(message);
}

export interface PageState {
  group: GroupChoice;
  tab: Tab;
  /** Lift over baseline (the default) or raw share. */
  metric: Metric;
}

export function loadState(): PageState {
  const s = api.getState();
  const rec = typeof s === "object" && s !== null ? (s as Record<string, unknown>) : {};
  const group =
    rec.group === "all" ||
    (Number.isInteger(rec.group) && (rec.group as number) >= 0 && (rec.group as number) < 64)
      ? (rec.group as GroupChoice)
      : "all";
  const tab = rec.tab === "ab" ? "ab" : "heatmap";
  const metric = rec.metric === "share" ? "share" : "lift";
  return { group, tab, metric };
}

export function saveState(state: PageState): void {
  api.setState(state);
}
