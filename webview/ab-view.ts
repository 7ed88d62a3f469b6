// The A/B tab: the greedy continuations at the cursor under two settings (without and with
// the current masks, or any two steerings), side by side, after the end of the prompt; the
// tokens that the other side lacks are marked, the first position where they part is
// flagged, and each token is shaded by how much more (blue) or less (red) likely the other
// setting finds it: Δ log p = log p(other) − log p(own).
import { diffContinuations, type DiffToken } from "../src/heatmap-shared/continuation";
import type { Continuation } from "../src/heatmap-shared/route-data";
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
  logprobs?: Continuation["logprobs"],
  names?: { own: string; other: string },
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
    const own = logprobs?.own[k];
    const other = logprobs?.other[k];
    if (own !== undefined && other !== undefined && Number.isFinite(own) && Number.isFinite(other)) {
      const d = other - own;
      span.dataset.dlogp = d.toFixed(3);
      span.classList.add("lp", d >= 0 ? "lp-up" : "lp-down");
      // Shade: |Δ| of 3 nats or more is the strongest.
      span.style.setProperty("--lp", String(Math.min(1, Math.abs(d) / 3).toFixed(3)));
      span.title +=
        `\nlog p under ${names?.own ?? "this side"}: ${own.toFixed(3)}` +
        `\nlog p under ${names?.other ?? "the other side"}: ${other.toFixed(3)}` +
        `\nΔ log p: ${d >= 0 ? "+" : "−"}${Math.abs(d).toFixed(3)}`;
    }
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
    // No steering against masks only reads as before: "Without masks" / "With masks (…)".
    const masksOnly =
      m.sides !== undefined &&
      Object.keys(m.sides.a.scales).length === 0 &&
      Object.values(m.sides.b.scales).every((x) => x === 0);
    const sides = masksOnly ? undefined : m.sides;
    const s = m.source;
    this.e.source.textContent = `${s.file}, line ${s.startLine}: greedy continuation at the cursor`;
    const summary: Node[] = [];
    const chips = el("span", "ab-masks");
    if (sides) {
      chips.append(document.createTextNode("A: "), el("span", "chip", sides.a.label));
      chips.append(document.createTextNode(" B: "), el("span", "chip", sides.b.label));
    } else {
      chips.append(document.createTextNode("Masked: "));
      for (const lang of m.masked) chips.append(el("span", "chip", lang));
    }
    summary.push(chips);
    if (diff.firstDivergence === null)
      summary.push(
        el(
          "span",
          "ab-verdict same",
          sides
            ? `Identical: both settings give these ${diff.plain.length} tokens.`
            : `Identical: the masks do not change these ${diff.plain.length} tokens.`,
        ),
      );
    else {
      summary.push(el("span", "ab-verdict differ", `They part at token ${diff.firstDivergence + 1}.`));
      const key = el("span", "ab-key");
      key.append(
        el("span", "ab-tok first", ""),
        document.createTextNode(" first difference  "),
        el("span", "ab-tok diverge removed", "  "),
        document.createTextNode(
          ` only ${sides ? "in A" : "without masks"} (${diff.diverging.plain} of ${diff.plain.length})  `,
        ),
        el("span", "ab-tok diverge added", "  "),
        document.createTextNode(
          ` only ${sides ? "in B" : "with masks"} (${diff.diverging.masked} of ${diff.masked.length})`,
        ),
      );
      summary.push(key);
    }
    const lp = (c: Continuation, own: string, other: string) => {
      if (!c.logprobs || c.logprobs.own.length === 0) return undefined;
      const sum = (xs: number[]) => xs.reduce((x, y) => x + y, 0);
      const a = sum(c.logprobs.own);
      const b = sum(c.logprobs.other);
      return el(
        "div",
        "ab-lp",
        `${own}'s ${c.ids.length} tokens: Σ log p ${a.toFixed(2)} under ${own}, ${b.toFixed(2)} under ` +
          `${other} (Δ ${b - a >= 0 ? "+" : "−"}${Math.abs(b - a).toFixed(2)} nats)`,
      );
    };
    const lpA = lp(m.plain, "A", "B");
    const lpB = lp(m.maskedResult, "B", "A");
    if (lpA || lpB) {
      const key = el("span", "ab-key");
      key.append(
        el("span", "ab-tok lp lp-up lp-key", "  "),
        document.createTextNode(" the other setting finds the token more likely  "),
        el("span", "ab-tok lp lp-down lp-key", "  "),
        document.createTextNode(" less likely (hover a token for its log-probabilities)"),
      );
      summary.push(...[lpA, lpB].filter((x): x is HTMLDivElement => x !== undefined), key);
    }
    this.e.summary.replaceChildren(...summary);
    this.e.summary.dataset.first = diff.firstDivergence === null ? "" : String(diff.firstDivergence);
    if (sides) {
      const names = { a: `A (${sides.a.label})`, b: `B (${sides.b.label})` };
      side(
        this.e.plain,
        `A: ${sides.a.label}`,
        m.promptTail,
        diff.plain,
        diff.firstDivergence,
        "removed",
        m.plain.logprobs,
        {
          own: names.a,
          other: names.b,
        },
      );
      side(
        this.e.masked,
        `B: ${sides.b.label}`,
        m.promptTail,
        diff.masked,
        diff.firstDivergence,
        "added",
        m.maskedResult.logprobs,
        { own: names.b, other: names.a },
      );
    } else {
      side(
        this.e.plain,
        "Without masks",
        m.promptTail,
        diff.plain,
        diff.firstDivergence,
        "removed",
        m.plain.logprobs,
      );
      side(
        this.e.masked,
        `With masks (${m.masked.join(", ")})`,
        m.promptTail,
        diff.masked,
        diff.firstDivergence,
        "added",
        m.maskedResult.logprobs,
      );
    }
    this.e.columns.hidden = false;
  }
}
