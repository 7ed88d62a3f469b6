// The banner that says what a view is doing or why it has nothing to show, with the buttons
// that fix it (each carries data-action: main.ts posts it as an "action" message).
import type { StatusButton, ViewState } from "../src/heatmap-shared/messages";
import { el } from "./dom";

const TITLES: Readonly<Record<ViewState, string>> = {
  computing: "Computing…",
  noModel: "No model",
  noSelection: "Nothing new to inspect",
  noMasks: "No masks active",
  tooLong: "Longer than the model reads",
  error: "Error",
  idle: "",
};

export function showStatus(
  target: HTMLElement,
  state: ViewState,
  message: string,
  title = TITLES[state],
  actions: readonly StatusButton[] = [],
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
  if (actions.length) {
    const row = el("div", "status-actions");
    actions.forEach((a, k) => {
      const b = document.createElement("vscode-button");
      b.setAttribute("appearance", k === 0 ? "primary" : "secondary");
      b.dataset.action = a.action;
      b.textContent = a.label;
      row.append(b);
    });
    text.append(row);
  }
  parts.push(text);
  target.replaceChildren(...parts);
  target.hidden = false;
}
