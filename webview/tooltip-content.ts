// What a hovered cell says: the token(s), the language and its share (per group when the
// view is the mean), the share no atlas language owns, and the strongest experts of the
// group(s) in view (group, head, i, j, score, owning language).
import type { RouteData, TopExpert } from "../src/heatmap-shared/route-data";
import { percentLabel, type HeatRow, type HeatView } from "../src/heatmap-shared/view-model";
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
  for (const h of ["group", "head", "i", "j", "score", "language"]) head.append(el("th", undefined, h));
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
      el("td", owner ? "lang" : "tt-dim", owner ?? "—"),
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

/** Tooltip of a row's cell for language `l`, or of its token / dominant cell (l null). */
export function rowTooltip(data: RouteData, view: HeatView, row: HeatRow, l: number | null): HTMLElement {
  const box = el("div", "tt");
  box.append(tokenHeader(data, row));
  const lang = l === null ? row.dominant.language : (view.languages[l] ?? null);
  const li = lang === null ? -1 : view.languages.indexOf(lang);
  if (view.languages.length === 0) box.append(el("div", "tt-dim", "No language atlas: experts only."));
  else if (li < 0)
    box.append(el("div", "tt-line", "No language's experts get any of this token's routing mass."));
  else {
    const line = el("div", "tt-line");
    const scope = view.group === "all" ? ` (mean of ${view.groups} groups)` : ` (group ${view.group})`;
    line.append(
      el("strong", "lang", lang!),
      document.createTextNode(`: ${pct(row.values[li]!)} of the routing mass${scope}`),
    );
    if (l === null) line.append(el("span", "tt-dim", " — dominant"));
    box.append(line);
    if (view.group === "all" && view.groups > 1) {
      const parts = Array.from(
        { length: view.groups },
        (_, g) => `group ${g}: ${pct(groupMean(data, row.from, row.to, g, li))}`,
      );
      box.append(el("div", "tt-dim", parts.join(" · ")));
    }
    if (view.masked[li])
      box.append(
        el("div", "tt-masked", `${lang} is masked: its experts are switched off, so they hold no mass.`),
      );
    box.append(
      el(
        "div",
        "tt-dim",
        `No atlas language owns ${pct(row.unowned)} (shared or unspecialised ` +
          `experts${view.masked.some(Boolean) ? ", or masked ones" : ""}).`,
      ),
    );
  }
  box.append(topTable(row.top, lang, row.to - row.from > 1));
  return box;
}

/** Tooltip of the summary row's cell for language `l` (null: its label). */
export function summaryTooltip(view: HeatView, l: number | null): HTMLElement {
  const box = el("div", "tt");
  box.append(
    el("div", "tt-token", `The selection's language mix: ${view.tokenCount} tokens, each counted once.`),
  );
  const order = view.languages
    .map((lang, i) => ({ lang, v: view.summary.values[i]! }))
    .sort((a, b) => b.v - a.v);
  const list = el("div", "tt-mix");
  for (const { lang, v } of order) {
    const item = el("div", l !== null && view.languages[l] === lang ? "tt-mix-item current" : "tt-mix-item");
    item.append(el("span", "lang", lang), el("span", "num", `${percentLabel(v)}%`));
    list.append(item);
  }
  box.append(list, el("div", "tt-dim", `No atlas language: ${pct(view.summary.unowned)}`));
  return box;
}
