// Small DOM helpers. Text from the user's files only ever goes in through textContent.
import { visibleRuns } from "../src/heatmap-shared/view-model";

export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (!el) throw new Error(`the page has no #${id}`);
  return el as T;
}

export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  className?: string,
  text?: string,
): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (className) e.className = className;
  if (text !== undefined) e.textContent = text;
  return e;
}

/** A token's text with visible, dimmed whitespace marks. */
export function tokenText(text: string, maxChars = 80): HTMLSpanElement {
  const out = el("span", "tok-text");
  for (const r of visibleRuns(text, maxChars))
    out.append(r.ws ? el("span", "ws", r.text) : document.createTextNode(r.text));
  return out;
}
