// The view as an image for papers: a standalone SVG of what the panel shows (source line,
// header, summary and every row — not only those in view — with the cells' colours and
// labels, and the legend's rule), and a PNG drawn from that SVG on a canvas. Text from the
// user's files is escaped.
import { visibleText } from "../src/heatmap-shared/view-model";
import {
  cellLabel,
  liftLabel,
  percentLabel,
  type HeatView,
  type Metric,
} from "../src/heatmap-shared/view-model";

export interface ExportStyle {
  metric: Metric;
  /** A cell's background. */
  color(col: number, share: number, lift: number | null): string;
  /** Text on a background. */
  textOn(bg: string): string;
  fg: string;
  bg: string;
  dim: string;
  font: string;
  mono: string;
}

const ROW = 16;
const TOKEN_W = 170;
const DOM_W = 110;
const CELL_W = 44;

export function esc(s: string): string {
  return s.replace(
    /[&<>"']/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!,
  );
}

/** The whole view as an SVG document (`title`: where the data came from). */
export function viewSvg(
  view: HeatView,
  title: string,
  style: ExportStyle,
): { svg: string; width: number; height: number } {
  const N = view.columns.length;
  const headH = 12 + 7 * Math.max(8, ...view.columns.map((c) => c.label.length));
  const top = 56;
  const width = TOKEN_W + DOM_W + N * CELL_W + 16;
  const rowsY = top + headH + ROW + 6;
  const height = rowsY + view.rows.length * ROW + 16;
  const out: string[] = [];
  const text = (x: number, y: number, s: string, attrs = "") =>
    out.push(`<text x="${x}" y="${y}"${attrs}>${esc(s)}</text>`);
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="${esc(style.font)}" font-size="11">`,
    `<rect width="100%" height="100%" fill="${style.bg}"/>`,
  );
  text(8, 16, title, ` fill="${style.fg}" font-size="12"`);
  const what =
    style.metric === "lift"
      ? "cells: lift over baseline (share ÷ the class's mean share over the atlas corpus); No language: share"
      : "cells: share of the routing mass";
  text(
    8,
    32,
    `${what}; ${view.group === "all" ? `mean of ${view.groups} routing groups` : `routing group ${view.group}`}`,
    ` fill="${style.dim}"`,
  );
  if (view.rule)
    text(
      8,
      top - 2,
      `dominant: lift ≥ ${view.rule.token.minLift}× (token), ≥ ${view.rule.selection.minLift}× (selection), and ≥ ${view.rule.token.minRatio}× the next class; else none (—)`,
      ` fill="${style.dim}"`,
    );
  const x0 = 8 + TOKEN_W + DOM_W;
  text(8, top + headH - 4, "token", ` fill="${style.dim}"`);
  text(8 + TOKEN_W, top + headH - 4, "dominant", ` fill="${style.dim}"`);
  view.columns.forEach((c, k) => {
    const x = x0 + k * CELL_W + CELL_W / 2 + 4;
    const y = top + headH - 4;
    text(
      x,
      y,
      c.masked ? `⊘ ${c.label}` : c.label,
      ` transform="rotate(-90 ${x} ${y})" fill="${style.fg}"${c.kind === "language" ? "" : ' font-style="italic"'}`,
    );
  });
  const row = (
    y: number,
    label: string,
    dom: string,
    shares: readonly number[],
    lift: ReadonlyArray<number | null>,
    bold: boolean,
  ) => {
    const w = bold ? ' font-weight="600"' : "";
    text(8, y + 12, label, ` fill="${style.fg}" font-family="${esc(style.mono)}"${w}`);
    text(8 + TOKEN_W, y + 12, dom, ` fill="${style.fg}"${w}`);
    view.columns.forEach((c, k) => {
      const bg = style.color(k, shares[k] ?? 0, lift[k] ?? null);
      const x = x0 + k * CELL_W;
      out.push(`<rect x="${x}" y="${y}" width="${CELL_W - 1}" height="${ROW - 1}" fill="${bg}"/>`);
      text(
        x + CELL_W / 2,
        y + 11.5,
        cellLabel(style.metric, c.kind, shares[k] ?? 0, lift[k] ?? null),
        ` fill="${style.textOn(bg)}" text-anchor="middle" font-size="10"`,
      );
    });
  };
  const domText = (d: HeatView["summary"]["dominant"]) => {
    if (!d.language) return "—";
    const label = view.columns.find((c) => c.id === d.language)?.label ?? d.language;
    return `${label} ${style.metric === "lift" && d.lift !== null ? liftLabel(d.lift) : `${percentLabel(d.share)}%`}`;
  };
  row(
    top + headH,
    `All ${view.tokenCount} tokens`,
    domText(view.summary.dominant),
    view.summary.shares,
    view.summary.lift,
    true,
  );
  for (const r of view.rows)
    row(rowsY + r.index * ROW, visibleText(r.text, 24), domText(r.dominant), r.shares, r.lift, false);
  out.push("</svg>");
  return { svg: out.join("\n"), width, height };
}

/** The SVG drawn on a canvas, as base64 PNG (without the data: prefix); scaled down for very long views. */
export async function svgToPng(svg: string, width: number, height: number): Promise<string> {
  const scale = Math.min(2, 30_000 / height, 30_000 / width);
  const img = new Image();
  const bytes = new TextEncoder().encode(svg);
  let bin = "";
  for (let i = 0; i < bytes.length; i += 0x8000) bin += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  const url = `data:image/svg+xml;base64,${btoa(bin)}`;
  await new Promise<void>((resolve, reject) => {
    img.onload = () => resolve();
    img.onerror = () => reject(new Error("the SVG could not be drawn"));
    img.src = url;
  });
  const canvas = document.createElement("canvas");
  canvas.width = Math.max(1, Math.floor(width * scale));
  canvas.height = Math.max(1, Math.floor(height * scale));
  const g = canvas.getContext("2d");
  if (!g) throw new Error("no canvas");
  g.scale(scale, scale);
  g.drawImage(img, 0, 0);
  return canvas.toDataURL("image/png").replace(/^data:image\/png;base64,/, "");
}
