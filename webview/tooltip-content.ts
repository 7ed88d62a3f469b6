// What a hovered cell says: the token(s), the class (display name and id), its lift and
// share with units and its baseline (per group when the view is the mean), the share no
// class owns, and the strongest experts of the group(s) in view (group, head, i, j, score,
// owning class); and each cell's screen-reader label.
import type { RouteData, TopExpert } from "../src/heatmap-shared/route-data";
import {
  type HeatColumn,
  type HeatRow,
  type HeatView,
  liftLabel,
  type Metric,
  percentLabel,
} from "../src/heatmap-shared/view-model";
import { className } from "../src/heatmap-shared/class-names";
import { el, tokenText } from "./dom";

function pct(v: number): string {
  return `${(v * 100).toFixed(v < 0.1 ? 2 : 1)}%`;
}

/** Mean over tokens [from, to) of group g's share of language l. */
function groupMean(data: RouteData, from: number, to: number, g: number, l: number): number {
  let s = 0;
  for (let t = from; t < to; t++) s += data.tokens[t]?.groupShares[g]?.[l] ?? 0;
  return to > from ? s / (to - from) : 0;
}

function topTable(top: readonly TopExpert[], highlight: string | null, averaged: boolean): HTMLElement {
  const wrap = el("div", "tt-top");
  wrap.append(
    el(
      "div",
      "tt-subtitle",
      averaged ? "Strongest experts (mean score over the tokens)" : "Strongest experts",
    ),
  );
  if (top.length === 0) {
    wrap.append(el("div", "tt-dim", "none (every expert masked)"));
    return wrap;
  }
  const table = el("table");
  const head = el("tr");
  for (const h of ["group", "head", "i", "j", "score", "class"]) head.append(el("th", undefined, h));
  table.append(el("thead"));
  table.tHead!.append(head);
  const body = el("tbody");
  for (const [g, h, i, j, score, owner] of top) {
    const tr = el("tr", owner !== null && owner === highlight ? "owner-match" : undefined);
    tr.append(
      el("td", undefined, String(g)),
      el("td", undefined, String(h)),
      el("td", undefined, String(i)),
      el("td", undefined, String(j)),
      el("td", "num", score.toFixed(3)),
      el("td", owner ? "lang" : "tt-dim", owner ? className(owner) : "—"),
    );
    body.append(tr);
  }
  table.append(body);
  wrap.append(table);
  return wrap;
}

function tokenHeader(data: RouteData, row: HeatRow): HTMLElement {
  const head = el("div", "tt-token");
  const q = el("span", "tt-quote");
  q.append(tokenText(row.text, row.to - row.from > 1 ? 120 : 60));
  head.append(q);
  if (row.to - row.from === 1) {
    const t = data.tokens[row.from]!;
    head.append(
      el("span", "tt-dim", ` token ${row.from + 1} of ${data.tokens.length} · id ${t.id} · ${t.piece}`),
    );
  } else
    head.append(
      el(
        "span",
        "tt-dim",
        ` tokens ${row.from + 1}–${row.to} of ${data.tokens.length} (${row.to - row.from})`,
      ),
    );
  return head;
}

/** A cell for screen readers and tooltips: "Python: lift 3.2×, share 12.0% (baseline 3.7%)". */
export function cellDescription(col: HeatColumn, share: number, lift: number | null): string {
  if (col.kind === "unowned") return `${col.label}: share ${pct(share)} (experts no class owns)`;
  const base = col.baseline === null ? "" : ` (baseline ${pct(col.baseline)})`;
  const masked = col.masked ? ", masked" : "";
  return `${col.label}${col.kind === "control" ? " (control)" : ""}${masked}: ${
    lift === null ? "" : `lift ${liftLabel(lift)}, `
  }share ${pct(share)}${base}`;
}

/** Tooltip of a row's cell for column `c`, or of its token / dominant cell (c null). */
export function rowTooltip(data: RouteData, view: HeatView, row: HeatRow, c: number | null): HTMLElement {
  const box = el("div", "tt");
  box.append(tokenHeader(data, row));
  const ci =
    c ??
    (row.dominant.language === null ? -1 : view.columns.findIndex((x) => x.id === row.dominant.language));
  const col = ci >= 0 ? view.columns[ci] : undefined;
  if (view.columns.length === 0) box.append(el("div", "tt-dim", "No language atlas: experts only."));
  else if (!col) {
    box.append(
      el(
        "div",
        "tt-line",
        view.rule
          ? "No class is dominant: none stands clearly above its baseline and the others."
          : "No baselines in this atlas: no class is called dominant.",
      ),
    );
    box.append(el("div", "tt-dim", `No language: ${pct(row.unowned)} of the routing mass.`));
  } else {
    const line = el("div", "tt-line");
    const scope = view.group === "all" ? ` (mean of ${view.groups} groups)` : ` (group ${view.group})`;
    line.append(
      el("strong", "lang", col.label),
      el(
        "span",
        "tt-dim",
        col.kind === "unowned" ? "" : ` ${col.id}${col.kind === "control" ? ", control class" : ""}`,
      ),
      document.createTextNode(
        `: ${cellDescription(col, row.shares[ci]!, row.lift[ci] ?? null).replace(/^[^:]*: /, "")}${scope}`,
      ),
    );
    if (c === null || row.dominant.language === col.id) line.append(el("span", "tt-dim", " — dominant"));
    box.append(line);
    if (view.group === "all" && view.groups > 1 && col.kind !== "unowned" && ci < view.languages.length) {
      const parts = Array.from(
        { length: view.groups },
        (_, g) => `group ${g}: ${pct(groupMean(data, row.from, row.to, g, ci))}`,
      );
      box.append(el("div", "tt-dim", parts.join(" · ")));
    }
    if (col.masked)
      box.append(
        el("div", "tt-masked", `${col.label} is masked: its experts are switched off, so they hold no mass.`),
      );
    if (col.kind !== "unowned")
      box.append(
        el(
          "div",
          "tt-dim",
          `No language: ${pct(row.unowned)} (shared or unspecialised ` +
            `experts${view.masked.some(Boolean) ? "; masked ones hold none" : ""}).`,
        ),
      );
  }
  box.append(topTable(row.top, col?.id ?? null, row.to - row.from > 1));
  return box;
}

/** Tooltip of the summary row's cell for column `c` (null: its label). */
export function summaryTooltip(view: HeatView, c: number | null, metric: Metric = "lift"): HTMLElement {
  const box = el("div", "tt");
  box.append(el("div", "tt-token", `The selection's mix: ${view.tokenCount} tokens, each counted once.`));
  const order = view.columns
    .map((col, i) => ({ col, share: view.summary.shares[i]!, lift: view.summary.lift[i] ?? null }))
    .sort((a, b) =>
      metric === "lift" && a.lift !== null && b.lift !== null ? b.lift - a.lift : b.share - a.share,
    );
  const list = el("div", "tt-mix");
  for (const { col, share, lift } of order) {
    const item = el(
      "div",
      c !== null && view.columns[c]?.id === col.id ? "tt-mix-item current" : "tt-mix-item",
    );
    item.append(
      el("span", "lang", col.label),
      el("span", "num", lift === null ? "" : liftLabel(lift)),
      el("span", "num", `${percentLabel(share)}%`),
    );
    list.append(item);
  }
  const d = view.summary.dominant;
  box.append(
    list,
    el(
      "div",
      "tt-dim",
      d.language
        ? `Dominant (selection rule): ${view.columns.find((x) => x.id === d.language)?.label ?? d.language}`
        : "No class is dominant for the selection.",
    ),
  );
  return box;
}
