// A picture of the Table-3 matrix: a heatmap of cross-entropy increases (rows: evaluated
// language, columns: masked language), with "Δ target" and "mean Δ others" rows below.
// An SVG string made with d3's scales and formats (no DOM): red for increases, blue for
// decreases, on a square-root scale so that small off-diagonal changes stay visible next
// to large diagonal ones.
import { color, format, interpolateRdBu, scaleDivergingSqrt } from "d3";
import type { DeltaTable } from "./evaluate";

const CELL = 46;
const short = format("+.2f");
const LABEL = 112;
const TOP = 96;

function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** Red for increases, blue for decreases, white at 0; |x| up to `max` on a square-root scale. */
export function cellColour(x: number, max: number): string {
  if (!Number.isFinite(x) || max <= 0) return "#eeeeee";
  return color(scaleDivergingSqrt(interpolateRdBu).domain([max, 0, -max]).clamp(true)(x))!.formatHex();
}

export function matrixSvg(
  t: DeltaTable,
  title = "Cross-entropy increase when a language's experts are masked (nats/token)",
): string {
  const rows = t.rows.length + 2;
  const width = Math.max(LABEL + CELL * t.cols.length + 20, 560);
  const height = TOP + CELL * rows + 24;
  const max = Math.max(
    1e-9,
    ...t.delta.flat().map(Math.abs).filter(Number.isFinite),
    ...t.target.map(Math.abs).filter(Number.isFinite),
  );
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ` +
      `${width} ${height}" font-family="system-ui, sans-serif" font-size="11">`,
  );
  out.push(`<rect width="100%" height="100%" fill="#ffffff"/>`);
  out.push(`<text x="8" y="18" font-size="13" font-weight="bold">${esc(title)}</text>`);
  out.push(`<text x="8" y="34" fill="#555">rows: evaluated language · columns: masked language</text>`);
  t.cols.forEach((col, c) => {
    const x = LABEL + c * CELL + CELL / 2;
    out.push(
      `<text transform="translate(${x},${TOP - 6}) rotate(-45)" text-anchor="start">${esc(col)}</text>`,
    );
  });
  const cell = (x: number, y: number, v: number, bold: boolean) => {
    const fill = cellColour(v, max);
    const dark = Number.isFinite(v) && Math.sqrt(Math.abs(v) / max) > 0.6;
    const text = Number.isFinite(v) ? short(Math.abs(v) < 0.005 ? 0 : v) : "—";
    const stroke = bold ? ` stroke="#222" stroke-width="1.5"` : "";
    out.push(
      `<rect x="${x}" y="${y}" width="${CELL - 2}" height="${CELL - 2}" fill="${fill}"${stroke}>` +
        `<title>${v.toFixed(4)}</title></rect>`,
    );
    out.push(
      `<text x="${x + (CELL - 2) / 2}" y="${y + CELL / 2 + 3}" text-anchor="middle" ` +
        `fill="${dark ? "#fff" : "#222"}"${bold ? ` font-weight="bold"` : ""}>${text}</text>`,
    );
  };
  t.rows.forEach((row, r) => {
    const y = TOP + r * CELL;
    out.push(`<text x="${LABEL - 6}" y="${y + CELL / 2 + 3}" text-anchor="end">${esc(row)}</text>`);
    t.cols.forEach((col, c) => {
      cell(LABEL + c * CELL, y, t.delta[r]![c]!, row === col);
    });
  });
  const extra = TOP + t.rows.length * CELL + 8;
  [
    ["Δ target", t.target],
    ["mean Δ others", t.others],
  ].forEach(([name, values], k) => {
    const y = extra + k * CELL;
    out.push(
      `<text x="${LABEL - 6}" y="${y + CELL / 2 + 3}" text-anchor="end" ` +
        `font-weight="bold">${esc(name as string)}</text>`,
    );
    (values as number[]).forEach((v, c) => {
      cell(LABEL + c * CELL, y, v, false);
    });
  });
  out.push(`</svg>`);
  return `${out.join("\n")}\n`;
}
