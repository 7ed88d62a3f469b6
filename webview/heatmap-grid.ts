// The heatmap: a sticky header of language columns (click: toggle the mask), a sticky
// summary row (the selection's language mix), and one row per token (or per bucket of
// tokens) — only the rows in view are in the DOM, so thousands of tokens scroll smoothly.
// Colours follow the theme; hovering a cell shows its tooltip; clicking a row (or Enter on
// the active row) selects its tokens in the editor.
import { select } from "d3";
import type { RouteData } from "../src/heatmap-shared/route-data";
import {
  buildHeatView,
  percentLabel,
  scaleTop,
  type GroupChoice,
  type HeatRow,
  type HeatView,
} from "../src/heatmap-shared/view-model";
import { heatScale, readTheme, textOn, type Theme } from "./colors";
import { el, tokenText } from "./dom";
import { drawLegend } from "./legend";
import type { Tooltip } from "./tooltip";
import { rowTooltip, summaryTooltip } from "./tooltip-content";

/** Row height in px (also --row-h in heatmap.css). */
export const ROW_H = 20;
const OVERSCAN = 10;

export interface GridElements {
  grid: HTMLElement;
  head: HTMLElement;
  summary: HTMLElement;
  body: HTMLElement;
  legend: SVGSVGElement;
  legendNotes: HTMLElement;
}

export interface GridEvents {
  rowClick(row: HeatRow): void;
  headerClick(language: string): void;
}

interface Drawn {
  version: number;
  row: HeatRow;
}

function clamp(x: number, lo: number, hi: number): number {
  return Math.max(lo, Math.min(hi, x));
}

export class HeatmapGrid {
  private data: RouteData | null = null;
  private view: HeatView | null = null;
  private group: GroupChoice = "all";
  private masked = new Set<string>();
  private readonly pending = new Set<string>();
  private theme: Theme;
  private color: (v: number) => string = () => "transparent";
  private readonly textColors = new Map<string, string>();
  private version = 0;
  private showLabels = true;
  private layoutKey = "";
  private active = -1;
  private frame = 0;
  private hovered: Element | null = null;

  constructor(
    private readonly e: GridElements,
    private readonly tooltip: Tooltip,
    private readonly on: GridEvents,
  ) {
    this.theme = readTheme();
    e.grid.addEventListener(
      "scroll",
      () => {
        this.hideTooltip();
        this.schedule();
      },
      { passive: true },
    );
    e.body.addEventListener("click", (ev) => {
      const row = this.rowOf(ev.target);
      if (!row) return;
      this.setActive(row.index, false);
      this.on.rowClick(row);
    });
    e.head.addEventListener("click", (ev) => {
      const b = (ev.target as Element | null)?.closest<HTMLButtonElement>("button.col-lang");
      const lang = b?.dataset.lang;
      if (!b || !lang) return;
      this.pending.add(lang);
      b.classList.add("pending");
      this.on.headerClick(lang);
    });
    e.grid.addEventListener("pointermove", (ev) => this.hover(ev.target));
    e.grid.addEventListener("pointerleave", () => this.hideTooltip());
    e.grid.addEventListener("keydown", (ev) => this.key(ev));
  }

  get currentView(): HeatView | null {
    return this.view;
  }

  setData(data: RouteData | null): void {
    this.data = data;
    this.active = -1;
    this.rebuild();
    this.e.grid.scrollTop = 0;
  }

  setGroup(group: GroupChoice): void {
    this.group = group;
    this.rebuild();
  }

  /** The masks now active (header state); they may differ from the data's until it is recomputed. */
  setMasks(masked: readonly string[]): void {
    this.masked = new Set(masked);
    this.pending.clear();
    this.renderHead();
  }

  setStale(stale: boolean): void {
    this.e.grid.classList.toggle("stale", stale);
  }

  themeChanged(): void {
    this.theme = readTheme();
    this.textColors.clear();
    this.version++;
    this.rebuild();
  }

  /** The panel was resized. */
  layout(): void {
    const v = this.view;
    const L = v?.languages.length ?? 0;
    const W = this.e.grid.clientWidth;
    const tokenW = clamp(Math.round(W * 0.24), 84, 220);
    const longest = v ? Math.max(8, ...v.languages.map((l) => l.length + 2)) : 8;
    const domW = clamp(Math.round(longest * 7 + 52), 100, 170);
    const cellW = L ? clamp(Math.floor((W - tokenW - domW - 2) / L), 24, 72) : 0;
    const cols = L
      ? `${tokenW}px ${domW}px repeat(${L}, ${cellW}px)`
      : `${tokenW}px ${domW}px minmax(16em, 1fr)`;
    const headH = L ? clamp(longest * 7 + 16, 48, 132) : 28;
    const rowW = L ? tokenW + domW + L * cellW : W;
    const key = `${cols}|${headH}`;
    const showLabels = cellW >= 30;
    if (key === this.layoutKey && showLabels === this.showLabels) return;
    this.layoutKey = key;
    this.showLabels = showLabels;
    const s = this.e.grid.style;
    s.setProperty("--cols", cols);
    s.setProperty("--head-h", `${headH}px`);
    s.setProperty("--row-w", `${rowW}px`);
    this.version++;
    this.render();
  }

  private rebuild(): void {
    const data = this.data;
    this.view = data ? buildHeatView(data, this.group) : null;
    const v = this.view;
    const top = scaleTop(v?.max ?? 0);
    this.color = heatScale(this.theme, top);
    this.textColors.clear();
    this.version++;
    this.e.grid.hidden = !v;
    this.e.body.style.height = `${(v?.rows.length ?? 0) * ROW_H}px`;
    this.e.body.dataset.totalRows = String(v?.rows.length ?? 0);
    this.e.grid.setAttribute("aria-rowcount", String((v?.rows.length ?? 0) + 2));
    if (this.active >= (v?.rows.length ?? 0)) this.active = -1;
    this.layoutKey = "";
    this.layout();
    this.renderHead();
    this.renderSummary();
    drawLegend(this.e.legend, this.e.legendNotes, v, top, this.color);
    this.render();
  }

  private textColor(bg: string): string {
    let c = this.textColors.get(bg);
    if (!c) {
      c = textOn(bg, this.theme);
      this.textColors.set(bg, c);
    }
    return c;
  }

  private renderHead(): void {
    const v = this.view;
    const head = this.e.head;
    if (!v) {
      head.replaceChildren();
      return;
    }
    const cells: HTMLElement[] = [el("div", "h-token", "token"), el("div", "h-dom", "dominant")];
    for (const [l, lang] of v.languages.entries()) {
      const wrap = el("div", "h-lang");
      wrap.setAttribute("role", "columnheader");
      const masked = this.masked.has(lang);
      const b = el("button", `col-lang${masked ? " masked" : ""}${this.pending.has(lang) ? " pending" : ""}`);
      b.type = "button";
      b.dataset.lang = lang;
      b.dataset.l = String(l);
      b.setAttribute("aria-pressed", String(masked));
      b.title = masked ? `${lang} is masked: click to unmask its experts` : `Click to mask ${lang}'s experts`;
      b.append(el("span", "col-label", masked ? `⊘ ${lang}` : lang));
      wrap.append(b);
      cells.push(wrap);
    }
    if (v.languages.length === 0)
      cells.push(el("div", "h-top", "strongest expert (group · head · i, j · score)"));
    for (const c of cells.slice(0, 2)) c.setAttribute("role", "columnheader");
    head.replaceChildren(...cells);
  }

  private fillCells(target: HTMLElement, values: readonly number[], summary: boolean): void {
    const v = this.view!;
    for (let l = 0; l < v.languages.length; l++) {
      const x = values[l]!;
      const bg = this.color(x);
      const c = el("div", v.masked[l] ? "cell masked" : "cell");
      c.setAttribute("role", "gridcell");
      c.dataset.l = String(l);
      c.style.backgroundColor = bg;
      c.style.color = this.textColor(bg);
      if (this.showLabels || summary) c.textContent = percentLabel(x);
      c.setAttribute("aria-label", `${v.languages[l]} ${percentLabel(x)}%`);
      target.append(c);
    }
  }

  private renderSummary(): void {
    const v = this.view;
    const s = this.e.summary;
    s.replaceChildren();
    if (!v) return;
    const text = `Mix of ${v.tokenCount.toLocaleString("en")} token${v.tokenCount === 1 ? "" : "s"}`;
    const label = el("div", "c-token summary-label");
    label.append(el("span", undefined, text));
    label.title = `${text}: the mean share of each language over the selection's tokens`;
    label.setAttribute("role", "rowheader");
    s.append(label, this.dominantCell(v.summary.dominant.language, v.summary.dominant.share));
    if (v.languages.length) this.fillCells(s, v.summary.values, true);
    else s.append(el("div", "c-top tt-dim", ""));
  }

  private dominantCell(language: string | null, share: number): HTMLElement {
    const d = el("div", "c-dom");
    d.setAttribute("role", "gridcell");
    if (language) {
      const sw = el("span", "swatch");
      sw.style.backgroundColor = this.color(share);
      d.append(sw, el("span", "dom-lang", language), el("span", "dom-share", ` ${percentLabel(share)}%`));
    } else d.append(el("span", "tt-dim", "—"));
    return d;
  }

  private buildRow(row: HeatRow): HTMLDivElement {
    const v = this.view!;
    const r = el("div", "row");
    r.setAttribute("role", "row");
    r.id = `hm-row-${row.index}`;
    r.dataset.i = String(row.index);
    r.style.transform = `translateY(${row.index * ROW_H}px)`;
    const tok = el("div", "c-token");
    tok.setAttribute("role", "rowheader");
    tok.append(tokenText(row.text, row.to - row.from > 1 ? 40 : 60));
    r.append(tok, this.dominantCell(row.dominant.language, row.dominant.share));
    if (v.languages.length) this.fillCells(r, row.values, false);
    else {
      const best = row.top.reduce<HeatRow["top"][number] | undefined>(
        (b, x) => (!b || x[4] > b[4] ? x : b),
        undefined,
      );
      r.append(
        el(
          "div",
          "c-top",
          best ? `g${best[0]} · h${best[1]} · ${best[2]}, ${best[3]} · ${best[4].toFixed(3)}` : "—",
        ),
      );
    }
    return r;
  }

  private schedule(): void {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      this.render();
    });
  }

  /** Draws the rows in view (and a few around them). */
  render(): void {
    const v = this.view;
    const body = select(this.e.body);
    if (!v) {
      body.selectAll("div.row").remove();
      return;
    }
    const g = this.e.grid;
    const y0 = g.scrollTop - this.e.body.offsetTop;
    const first = Math.max(0, Math.floor(y0 / ROW_H) - OVERSCAN);
    const last = Math.min(v.rows.length, Math.ceil((y0 + Math.max(g.clientHeight, 200)) / ROW_H) + OVERSCAN);
    // Each drawn row keeps the version it was drawn for: rows of an older view (data,
    // group, theme, column widths) are drawn again, rows still in view are kept.
    const version = this.version;
    const items: Drawn[] = v.rows.slice(first, last).map((row) => ({ version, row }));
    body
      .selectAll<HTMLDivElement, Drawn>("div.row")
      .data(items, (d) => `${d.version}:${d.row.index}`)
      .join(
        (enter) => enter.append((d) => this.buildRow(d.row)),
        (update) => update,
        (exit) => exit.remove(),
      )
      .classed("active", (d) => d.row.index === this.active)
      .attr("aria-selected", (d) => String(d.row.index === this.active));
  }

  private rowOf(target: EventTarget | null): HeatRow | undefined {
    const r = (target as Element | null)?.closest<HTMLElement>(".row");
    const i = Number(r?.dataset.i);
    return Number.isInteger(i) ? this.view?.rows[i] : undefined;
  }

  private hover(target: EventTarget | null): void {
    const v = this.view;
    const data = this.data;
    const cell = (target as Element | null)?.closest(".cell, .c-token, .c-dom, .c-top") ?? null;
    if (cell === this.hovered) return;
    this.hovered = cell;
    if (!v || !data || !cell) {
      this.tooltip.hide();
      return;
    }
    const l = cell instanceof HTMLElement && cell.dataset.l !== undefined ? Number(cell.dataset.l) : null;
    let content: HTMLElement;
    if (cell.closest(".grid-summary")) content = summaryTooltip(v, l);
    else {
      const row = this.rowOf(cell);
      if (!row) {
        this.tooltip.hide();
        return;
      }
      content = rowTooltip(data, v, row, l);
    }
    this.tooltip.show(cell.getBoundingClientRect(), content);
  }

  private hideTooltip(): void {
    this.hovered = null;
    this.tooltip.hide();
  }

  private key(ev: KeyboardEvent): void {
    const v = this.view;
    if (!v || v.rows.length === 0) return;
    const n = v.rows.length;
    const page = Math.max(1, Math.floor(this.e.grid.clientHeight / ROW_H) - 4);
    let a = this.active;
    switch (ev.key) {
      case "ArrowDown":
        a = Math.min(n - 1, a + 1);
        break;
      case "ArrowUp":
        a = Math.max(0, a - 1);
        break;
      case "PageDown":
        a = Math.min(n - 1, a + page);
        break;
      case "PageUp":
        a = Math.max(0, a - page);
        break;
      case "Home":
        a = 0;
        break;
      case "End":
        a = n - 1;
        break;
      case "Enter":
      case " ":
        if (a >= 0) this.on.rowClick(v.rows[a]!);
        ev.preventDefault();
        return;
      case "Escape":
        this.hideTooltip();
        return;
      default:
        return;
    }
    ev.preventDefault();
    this.setActive(a, true);
    const row = this.e.body.querySelector(`#hm-row-${a} .c-dom`);
    if (row && this.data) {
      this.hovered = row;
      this.tooltip.show(row.getBoundingClientRect(), rowTooltip(this.data, v, v.rows[a]!, null));
    }
  }

  private setActive(i: number, scroll: boolean): void {
    this.active = i;
    const g = this.e.grid;
    if (i >= 0) g.setAttribute("aria-activedescendant", `hm-row-${i}`);
    else g.removeAttribute("aria-activedescendant");
    if (scroll && i >= 0) {
      const sticky = this.e.head.offsetHeight + this.e.summary.offsetHeight;
      const top = this.e.body.offsetTop + i * ROW_H;
      if (top - sticky < g.scrollTop) g.scrollTop = top - sticky;
      else if (top + ROW_H > g.scrollTop + g.clientHeight) g.scrollTop = top + ROW_H - g.clientHeight;
    }
    this.render();
  }
}
