// A picture of the steering sweep (steer-sweep.ts): one line per language, its held-out
// cross-entropy change against the unsteered model (nats/token) as its own experts' scale
// goes through the sweep. An SVG string from d3's scales and line generator (no DOM). The
// y axis is symmetric-logarithmic (linear near 0), so that the small changes around ×1 stay
// visible next to the large ones of masking.
import { extent, format, line, scaleLinear, scaleSymlog, schemeDark2, schemeTableau10 } from "d3";
import type { SweepResult } from "./steer-sweep";

const W = 640;
const H = 440;
const M = { top: 44, right: 120, bottom: 44, left: 64 };

function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

export function sweepSvg(
  r: SweepResult,
  title = "Held-out loss of a language as its own experts are scaled",
): string {
  const colours = [...schemeTableau10, ...schemeDark2];
  const deltas = r.languages.map((l) => r.ce[l]!.map((x) => x - r.none[l]!));
  const [lo, hi] = extent(deltas.flat().filter(Number.isFinite)) as [number, number];
  // Coordinates to 0.1 px (short, stable files).
  const r1 = (v: number) => Math.round(v * 10) / 10;
  const x0 = scaleLinear()
    .domain(extent(r.scales) as [number, number])
    .range([M.left, W - M.right]);
  const y0 = scaleSymlog()
    .constant(0.02)
    .domain([Math.min(lo ?? 0, 0), Math.max(hi ?? 0, 0, 0.01)])
    .range([H - M.bottom, M.top]);
  const x = (v: number) => r1(x0(v));
  const y = (v: number) => r1(y0(v));
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" ` +
      `font-family="system-ui, sans-serif" font-size="11">`,
    `<rect width="100%" height="100%" fill="#ffffff"/>`,
    `<text x="8" y="18" font-size="13" font-weight="bold">${esc(title)}</text>`,
    `<text x="8" y="34" fill="#555">Δ cross-entropy vs. the unsteered model (nats/token, symmetric log scale); ` +
      `x: scale of its experts (0 masks, 1 leaves them)</text>`,
  ];
  const fy = format("+.2f");
  const [d0, d1] = y0.domain() as [number, number];
  const steps = [0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5];
  const ticks = [0, ...steps.filter((t) => t <= d1), ...steps.filter((t) => -t >= d0).map((t) => -t)];
  for (const t of ticks) {
    out.push(
      `<line x1="${M.left}" x2="${W - M.right}" y1="${y(t)}" y2="${y(t)}" stroke="${t === 0 ? "#888" : "#e4e4e4"}"/>`,
      `<text x="${M.left - 6}" y="${y(t) + 3}" text-anchor="end" fill="#444">${t === 0 ? "0" : fy(t)}</text>`,
    );
  }
  for (const s of r.scales)
    out.push(
      `<line x1="${x(s)}" x2="${x(s)}" y1="${H - M.bottom}" y2="${H - M.bottom + 4}" stroke="#444"/>`,
      `<text x="${x(s)}" y="${H - M.bottom + 16}" text-anchor="middle" fill="#444">×${s}</text>`,
    );
  out.push(
    `<text x="${(M.left + W - M.right) / 2}" y="${H - 8}" text-anchor="middle">scale of the language's own experts</text>`,
  );
  const path = line<[number, number]>()
    .x((d) => x(d[0]))
    .y((d) => y(d[1]));
  // Labels at the right end, pushed apart so that they do not overlap.
  const ends = r.languages.map((l, k) => ({ l, k, y: y(deltas[k]!.at(-1)!) })).sort((a, b) => a.y - b.y);
  for (let i = 1; i < ends.length; i++) ends[i]!.y = Math.max(ends[i]!.y, ends[i - 1]!.y + 12);
  // …and back up from the bottom edge when they run past it.
  const bottom = H - M.bottom;
  if (ends.length && ends.at(-1)!.y > bottom) {
    ends.at(-1)!.y = bottom;
    for (let i = ends.length - 2; i >= 0; i--) ends[i]!.y = Math.min(ends[i]!.y, ends[i + 1]!.y - 12);
  }
  r.languages.forEach((l, k) => {
    const c = colours[k % colours.length]!;
    const pts = r.scales.map((s, j) => [s, deltas[k]![j]!] as [number, number]);
    out.push(
      `<path d="${path(pts)}" fill="none" stroke="${c}" stroke-width="2"><title>${esc(l)}</title></path>`,
    );
    for (const [s, d] of pts)
      out.push(
        `<circle cx="${x(s)}" cy="${y(d)}" r="3" fill="${c}"><title>${esc(l)} ×${s}: ${fy(d)} ` +
          `(CE ${(d + r.none[l]!).toFixed(3)})</title></circle>`,
      );
  });
  for (const e of ends)
    out.push(
      `<text x="${W - M.right + 8}" y="${e.y + 3}" fill="${colours[e.k % colours.length]}">${esc(e.l)}</text>`,
    );
  out.push("</svg>");
  return out.join("\n");
}
