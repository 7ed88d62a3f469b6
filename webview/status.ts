// The banner that says what a view is doing or why it has nothing to show.
import type { ViewState } from "../src/heatmap-shared/messages";
import { el } from "./dom";

const TITLES: Readonly<Record<ViewState, string>> = {
  computing: "Computing…",
  noModel: "No model",
  noSelection: "Nothing to inspect",
  noMasks: "No masks active",
  error: "Error",
  idle: "",
};

export function showStatus(
  target: HTMLElement,
  state: ViewState,
  message: string,
  title = TITLES[state],
): void {
  target.dataset.state = state;
  if (state === "idle") {
    target.hidden = true;
    target.replaceChildren();
    return;
  }
  const parts: Node[] = [];
  if (state === "computing") parts.push(document.createElement("vscode-progress-ring"));
  else parts.push(el("span", `status-icon ${state}`, state === "error" ? "!" : "i"));
  const text = el("div", "status-text");
  text.append(el("strong", "status-title", title), el("span", "status-message", message));
  parts.push(text);
  target.replaceChildren(...parts);
  target.hidden = false;
}
