// The A/B tab: the greedy continuation at the cursor without and with the current masks,
// side by side, after the end of the prompt; the tokens that the other side lacks are
// marked, and the first position where they part is flagged.
import { diffContinuations, type DiffToken } from "../src/heatmap-shared/continuation";
import type { ToWebview } from "../src/heatmap-shared/messages";
import { el } from "./dom";

export type CompareMessage = Extract<ToWebview, { type: "compare" }>;

export interface AbElements {
  source: HTMLElement;
  summary: HTMLElement;
  columns: HTMLElement;
  plain: HTMLElement;
  masked: HTMLElement;
}

function side(
  target: HTMLElement,
  title: string,
  promptTail: string,
  tokens: readonly DiffToken[],
  first: number | null,
  kind: "removed" | "added",
): void {
  target.querySelector(".ab-title")!.textContent = title;
  const pre = target.querySelector("pre")!;
  const parts: Node[] = [];
  if (promptTail) parts.push(el("span", "ab-prompt", promptTail));
  tokens.forEach((t, k) => {
    const span = el("span", `ab-tok${t.diverges ? ` diverge ${kind}` : ""}${k === first ? " first" : ""}`);
    span.dataset.k = String(k);
    const note = t.diverges ? " · not in the other continuation" : "";
    span.title = `token ${k + 1} · id ${t.id} · ${t.piece}${note}`;
    // A diverging space or line break is drawn as a visible mark (then the break itself).
    if (t.diverges && /^\s+$/.test(t.text)) {
      span.append(el("span", "ws", t.text.replace(/\n/g, "↵").replace(/\t/g, "→").replace(/ /g, "·")));
      const breaks = t.text.replace(/[^\n]/g, "");
      if (breaks) span.append(document.createTextNode(breaks));
    } else span.append(document.createTextNode(t.text));
    parts.push(span);
  });
  if (tokens.length === 0) parts.push(el("span", "tt-dim", "(no tokens: the model ended at once)"));
  pre.replaceChildren(...parts);
}

export class AbView {
  constructor(private readonly e: AbElements) {}

  clear(): void {
    this.e.summary.replaceChildren();
    this.e.columns.hidden = true;
  }

  show(m: CompareMessage): void {
    const diff = diffContinuations({ plain: m.plain, masked: m.maskedResult });
    const s = m.source;
    this.e.source.textContent = `${s.file}, line ${s.startLine}: greedy continuation at the cursor`;
    const summary: Node[] = [];
    const chips = el("span", "ab-masks");
    chips.append(document.createTextNode("Masked: "));
    for (const lang of m.masked) chips.append(el("span", "chip", lang));
    summary.push(chips);
    if (diff.firstDivergence === null)
      summary.push(
        el(
          "span",
          "ab-verdict same",
          `Identical: the masks do not change these ${diff.plain.length} tokens.`,
        ),
      );
    else {
      summary.push(el("span", "ab-verdict differ", `They part at token ${diff.firstDivergence + 1}.`));
      const key = el("span", "ab-key");
      key.append(
        el("span", "ab-tok first", ""),
        document.createTextNode(" first difference  "),
        el("span", "ab-tok diverge removed", "  "),
        document.createTextNode(` only without masks (${diff.diverging.plain} of ${diff.plain.length})  `),
        el("span", "ab-tok diverge added", "  "),
        document.createTextNode(` only with masks (${diff.diverging.masked} of ${diff.masked.length})`),
      );
      summary.push(key);
    }
    this.e.summary.replaceChildren(...summary);
    this.e.summary.dataset.first = diff.firstDivergence === null ? "" : String(diff.firstDivergence);
    side(this.e.plain, "Without masks", m.promptTail, diff.plain, diff.firstDivergence, "removed");
    side(
      this.e.masked,
      `With masks (${m.masked.join(", ")})`,
      m.promptTail,
      diff.masked,
      diff.firstDivergence,
      "added",
    );
    this.e.columns.hidden = false;
  }
}
