// The heatmap: a sticky header of class columns (a language's header toggles its mask; the
// prose control class and "no language" are shown apart and cannot be masked), a sticky
// summary row (the selection's mix), and one row per token (or per bucket of tokens) — only
// the rows in view are in the DOM, so thousands of tokens scroll smoothly. Cells show lift
// over baseline (or the raw share) on fixed colour scales; colours follow the theme;
// hovering a cell shows its tooltip; clicking a row (or Enter on the active row) selects its
// tokens in the editor. The keyboard moves across rows and cells (arrows, Home/End,
// PageUp/PageDown), with screen-reader labels on every cell.
import { select } from "d3";
import type { RouteData } from "../src/heatmap-shared/route-data";
import {
  buildHeatView,
  cellLabel,
  liftLabel,
  percentLabel,
  scalePosition,
  type Dominant,
  type GroupChoice,
  type HeatColumn,
  type HeatRow,
  type HeatView,
  type Metric,
} from "../src/heatmap-shared/view-model";
import { heatScale, neutralScale, readTheme, textOn, type Theme } from "./colors";
import { el, tokenText } from "./dom";
import type { ExportStyle } from "./export-view";
import { drawLegend } from "./legend";
import type { Tooltip } from "./tooltip";
import { cellDescription, rowTooltip, summaryTooltip } from "./tooltip-content";

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
  private metric: Metric = "lift";
  /** The active cell's column (-1: the row as a whole). */
  private activeCol = -1;
  private masked = new Set<string>();
  private readonly pending = new Set<string>();
  private theme: Theme;
  private color: (v: number) => string = () => "transparent";
  private neutral: (v: number) => string = () => "transparent";
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
      const cell = (ev.target as Element | null)?.closest<HTMLElement>(".cell");
      this.activeCol = cell?.dataset.l !== undefined ? Number(cell.dataset.l) : -1;
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
    this.activeCol = -1;
    this.rebuild();
    this.e.grid.scrollTop = 0;
  }

  setGroup(group: GroupChoice): void {
    this.group = group;
    this.rebuild();
  }

  /** Lift over baseline or raw share (data without baselines shows shares either way). */
  setMetric(metric: Metric): void {
    this.metric = metric;
    this.rebuild();
  }

  /** What the cells show now. */
  get shownMetric(): Metric {
    return this.view && !this.view.hasLift ? "share" : this.metric;
  }

  get routeData(): RouteData | null {
    return this.data;
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
    const W = this.e.grid.clientWidth;
    const cols = v?.columns ?? [];
    const N = cols.length;
    // From 360 px up: the token and dominant columns stay put (sticky) and the class columns
    // keep a width that shows their value with its unit; a narrow panel scrolls sideways.
    const tokenW = clamp(Math.round(W * 0.2), 88, 200);
    // The dominant column fits "JavaScript 13×" with its swatch.
    const domW = clamp(Math.round(W * 0.2), 124, 150);
    const minCell = 38;
    const cellW = N ? clamp(Math.floor((W - tokenW - domW - 2) / N), minCell, 72) : 0;
    const longest = Math.max(8, ...cols.map((c) => c.label.length + (c.masked ? 2 : 0)));
    const colsCss = N
      ? `${tokenW}px ${domW}px repeat(${N}, ${cellW}px)`
      : `${tokenW}px ${domW}px minmax(16em, 1fr)`;
    const headH = N ? clamp(longest * 7 + 16, 48, 132) : 28;
    const rowW = N ? tokenW + domW + N * cellW : W;
    const key = `${colsCss}|${headH}`;
    const showLabels = cellW >= 30;
    if (key === this.layoutKey && showLabels === this.showLabels) return;
    this.layoutKey = key;
    this.showLabels = showLabels;
    const s = this.e.grid.style;
    s.setProperty("--cols", colsCss);
    s.setProperty("--head-h", `${headH}px`);
    s.setProperty("--row-w", `${rowW}px`);
    s.setProperty("--token-w", `${tokenW}px`);
    this.version++;
    this.render();
  }

  private rebuild(): void {
    const data = this.data;
    this.view = data ? buildHeatView(data, this.group) : null;
    const v = this.view;
    this.color = heatScale(this.theme, 1);
    this.neutral = neutralScale(this.theme);
    this.textColors.clear();
    this.version++;
    this.e.grid.hidden = !v;
    this.e.body.style.height = `${(v?.rows.length ?? 0) * ROW_H}px`;
    this.e.body.dataset.totalRows = String(v?.rows.length ?? 0);
    this.e.body.dataset.metric = this.shownMetric;
    this.e.grid.setAttribute("aria-rowcount", String((v?.rows.length ?? 0) + 2));
    this.e.grid.setAttribute("aria-colcount", String((v?.columns.length ?? 1) + 2));
    if (this.active >= (v?.rows.length ?? 0)) this.active = -1;
    if (this.activeCol >= (v?.columns.length ?? 0)) this.activeCol = -1;
    this.layoutKey = "";
    this.layout();
    this.renderHead();
    this.renderSummary();
    drawLegend(this.e.legend, this.e.legendNotes, v, this.shownMetric, this.color, this.neutral);
    this.render();
  }

  /** Colours and fonts for an exported image of the view (export-view.ts). */
  exportStyle(): ExportStyle {
    const v = this.view;
    const cs = getComputedStyle(document.body);
    return {
      metric: this.shownMetric,
      color: (c, share, lift) => (v?.columns[c] ? this.cellColor(v.columns[c], share, lift) : this.theme.bg),
      textOn: (bg) => this.textColor(bg),
      fg: this.theme.fg,
      bg: this.theme.bg,
      dim: cs.getPropertyValue("--vscode-descriptionForeground").trim() || this.theme.fg,
      font: cs.fontFamily || "sans-serif",
      mono: cs.getPropertyValue("--vscode-editor-font-family").trim() || "monospace",
    };
  }

  /** A cell's colour on its fixed scale. */
  cellColor(col: HeatColumn, share: number, lift: number | null): string {
    const x = scalePosition(this.shownMetric, col.kind, share, lift);
    return col.kind === "unowned" ? this.neutral(x) : this.color(x);
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
    cells[0]!.setAttribute("aria-label", "token");
    for (const [c, col] of v.columns.entries()) {
      const wrap = el("div", `h-lang h-${col.kind}`);
      wrap.setAttribute("role", "columnheader");
      if (col.kind === "language") {
        const masked = this.masked.has(col.id);
        const b = el(
          "button",
          `col-lang${masked ? " masked" : ""}${this.pending.has(col.id) ? " pending" : ""}`,
        );
        b.type = "button";
        b.dataset.lang = col.id;
        b.dataset.l = String(c);
        b.setAttribute("aria-pressed", String(masked));
        b.title = `${col.label} (${col.id})${baselineNote(col)}: ${
          masked ? "masked; click to unmask its experts" : "click to mask its experts"
        }`;
        b.setAttribute("aria-label", `${col.label}${masked ? ", masked" : ""}: toggle the mask`);
        b.append(el("span", "col-label", masked ? `⊘ ${col.label}` : col.label));
        wrap.append(b);
      } else {
        const d = el("div", `col-class ${col.kind}`);
        d.dataset.id = col.id;
        d.title =
          col.kind === "control"
            ? `${col.label} (${col.id}) is a control class: experts that fire on English prose${baselineNote(col)}. Not a programming language, so it cannot be masked.`
            : "The share of the routing mass that goes to experts no atlas class owns (shared or unspecialised experts; masked experts hold none). A share, not a lift.";
        d.append(el("span", "col-label", col.label));
        wrap.append(d);
      }
      cells.push(wrap);
    }
    if (v.columns.length === 0)
      cells.push(el("div", "h-top", "strongest expert (group · head · i, j · score)"));
    for (const c of cells.slice(0, 2)) c.setAttribute("role", "columnheader");
    head.replaceChildren(...cells);
  }

  private fillCells(
    target: HTMLElement,
    shares: readonly number[],
    lift: ReadonlyArray<number | null>,
    rowIndex: number | "summary",
  ): void {
    const v = this.view!;
    const metric = this.shownMetric;
    for (const [c, col] of v.columns.entries()) {
      const share = shares[c] ?? 0;
      const x = lift[c] ?? null;
      const bg = this.cellColor(col, share, x);
      const cell = el("div", `cell ${col.kind}${col.masked ? " masked" : ""}`);
      cell.setAttribute("role", "gridcell");
      cell.dataset.l = String(c);
      cell.id = `hm-cell-${rowIndex}-${c}`;
      cell.style.backgroundColor = bg;
      cell.style.color = this.textColor(bg);
      if (this.showLabels || rowIndex === "summary") cell.textContent = cellLabel(metric, col.kind, share, x);
      cell.setAttribute("aria-label", cellDescription(col, share, x));
      target.append(cell);
    }
  }

  private renderSummary(): void {
    const v = this.view;
    const s = this.e.summary;
    s.replaceChildren();
    if (!v) return;
    const n = v.tokenCount.toLocaleString("en");
    const text = `${n} token${v.tokenCount === 1 ? "" : "s"}`;
    const label = el("div", "c-token summary-label");
    label.append(el("span", undefined, text));
    label.title = `All ${text}: the mean over the selection's tokens, each counted once`;
    label.setAttribute("role", "rowheader");
    s.setAttribute("aria-label", `summary of ${n} tokens`);
    s.append(label, this.dominantCell(v.summary.dominant, "selection"));
    if (v.columns.length) this.fillCells(s, v.summary.shares, v.summary.lift, "summary");
    else s.append(el("div", "c-top tt-dim", ""));
  }

  private dominantCell(d: Dominant, scope: "token" | "selection"): HTMLElement {
    const cell = el("div", "c-dom");
    cell.setAttribute("role", "gridcell");
    const v = this.view!;
    if (d.language) {
      const c = v.columns.findIndex((col) => col.id === d.language);
      const col = v.columns[c]!;
      const sw = el("span", "swatch");
      sw.style.backgroundColor = this.cellColor(col, d.share, d.lift);
      const value =
        this.shownMetric === "lift" && d.lift !== null ? liftLabel(d.lift) : `${percentLabel(d.share)}%`;
      const name = el("span", `dom-lang${col.kind === "control" ? " control" : ""}`, col.label);
      name.dataset.id = col.id;
      cell.append(sw, name, el("span", "dom-share", ` ${value}`));
      cell.title = `${col.label} (${col.id}) is dominant for this ${scope}: lift ${d.lift === null ? "?" : liftLabel(d.lift)}, share ${percentLabel(d.share)}%`;
      cell.setAttribute(
        "aria-label",
        `dominant: ${col.label}, lift ${d.lift === null ? "unknown" : liftLabel(d.lift)}`,
      );
    } else {
      cell.append(el("span", "tt-dim", "—"));
      cell.title = v.rule
        ? `No class stands out for this ${scope} (the rule is in the legend)`
        : "No baselines in this atlas: no class is called dominant";
      cell.setAttribute("aria-label", "dominant: none");
    }
    return cell;
  }

  private buildRow(row: HeatRow): HTMLDivElement {
    const v = this.view!;
    const r = el("div", "row");
    r.setAttribute("role", "row");
    r.id = `hm-row-${row.index}`;
    r.dataset.i = String(row.index);
    r.style.transform = `translateY(${row.index * ROW_H}px)`;
    r.setAttribute("aria-rowindex", String(row.index + 3));
    const tok = el("div", "c-token");
    tok.setAttribute("role", "rowheader");
    tok.append(tokenText(row.text, row.to - row.from > 1 ? 40 : 60));
    tok.setAttribute(
      "aria-label",
      row.to - row.from > 1 ? `tokens ${row.from + 1} to ${row.to}` : `token ${row.from + 1}: ${row.text}`,
    );
    r.append(tok, this.dominantCell(row.dominant, row.to - row.from > 1 ? "selection" : "token"));
    if (v.columns.length) this.fillCells(r, row.shares, row.lift, row.index);
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
      .attr("aria-selected", (d) => String(d.row.index === this.active))
      .each((d, k, nodes) => {
        const row = nodes[k]!;
        for (const c of row.querySelectorAll(".cell.active-cell")) c.classList.remove("active-cell");
        if (d.row.index === this.active && this.activeCol >= 0)
          row.querySelector(`.cell[data-l="${this.activeCol}"]`)?.classList.add("active-cell");
      });
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
    if (cell.closest(".grid-summary")) content = summaryTooltip(v, l, this.shownMetric);
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
    const W = v.columns.length;
    const page = Math.max(1, Math.floor(this.e.grid.clientHeight / ROW_H) - 4);
    let a = this.active;
    let c = this.activeCol;
    switch (ev.key) {
      case "ArrowDown":
        a = Math.min(n - 1, a + 1);
        break;
      case "ArrowUp":
        a = Math.max(0, a - 1);
        break;
      case "ArrowRight":
        if (a < 0) a = 0;
        c = Math.min(W - 1, c + 1);
        break;
      case "ArrowLeft":
        if (a < 0) a = 0;
        c = Math.max(-1, c - 1);
        break;
      case "PageDown":
        a = Math.min(n - 1, a + page);
        break;
      case "PageUp":
        a = Math.max(0, a - page);
        break;
      case "Home":
        if (ev.ctrlKey || c < 0) a = 0;
        else c = -1;
        break;
      case "End":
        if (ev.ctrlKey || W === 0) a = n - 1;
        else c = W - 1;
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
    this.activeCol = c;
    this.setActive(a, true);
    const target = this.e.body.querySelector(c >= 0 ? `#hm-cell-${a}-${c}` : `#hm-row-${a} .c-dom`);
    if (target && this.data) {
      this.hovered = target;
      this.tooltip.show(
        target.getBoundingClientRect(),
        rowTooltip(this.data, v, v.rows[a]!, c >= 0 ? c : null),
      );
    }
  }

  private setActive(i: number, scroll: boolean): void {
    this.active = i;
    const g = this.e.grid;
    if (i >= 0)
      g.setAttribute(
        "aria-activedescendant",
        this.activeCol >= 0 ? `hm-cell-${i}-${this.activeCol}` : `hm-row-${i}`,
      );
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

function baselineNote(col: HeatColumn): string {
  return col.baseline === null ? "" : `, baseline ${percentLabel(col.baseline)}% of the routing mass`;
}
