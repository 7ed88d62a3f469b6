// Memory over a load session: the samples' trend (is it still growing?) and an SVG line chart
// of the engine's and the caller's resident set size against time, made with d3's scales and
// tick formats as a string (no DOM), like src/atlas/matrix-svg.ts.
import { format, scaleLinear } from "d3";

export interface RssSample {
  /** Seconds since the typing started. */
  t: number;
  engineMB: number;
  callerMB: number;
  /**
   * What the engine's RSS holds: its V8 heap (committed, in use) and JavaScript's memory outside it (ArrayBuffers
   * among them), from process.memoryUsage(); and (Linux) its anonymous and file-backed resident memory.
   */
  engineHeapTotalMB?: number;
  engineHeapMB?: number;
  engineExternalMB?: number;
  engineArrayBuffersMB?: number;
  engineAnonMB?: number;
  engineFileMB?: number;
}

export interface RssTrend {
  /** Least-squares slope over the first and the second half of the session, MB per minute. */
  firstHalfMBPerMin: number;
  secondHalfMBPerMin: number;
  /** Mean of the first and of the last tenth of the samples, MB. */
  startMB: number;
  endMB: number;
  /** The second half still rises: faster than GROWTH_LIMIT_MB_PER_MIN, and by more than GROWTH_LIMIT_MB in all. */
  growing: boolean;
}

/**
 * A leak of one buffer per request shows as a steady rise; GC sawtooth and noise stay below
 * this. A short session's trend is noise (a few MB over seconds reads as MB/min), so the rise
 * over the second half must also exceed GROWTH_LIMIT_MB.
 */
export const GROWTH_LIMIT_MB_PER_MIN = 1;
export const GROWTH_LIMIT_MB = 16;

function slopePerMinute(points: Array<{ t: number; y: number }>): number {
  if (points.length < 2) return 0;
  const n = points.length;
  const mt = points.reduce((s, p) => s + p.t, 0) / n;
  const my = points.reduce((s, p) => s + p.y, 0) / n;
  let num = 0;
  let den = 0;
  for (const p of points) {
    num += (p.t - mt) * (p.y - my);
    den += (p.t - mt) ** 2;
  }
  return den === 0 ? 0 : (num / den) * 60;
}

const round2 = (x: number) => Math.round(x * 100) / 100;
const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : Number.NaN);

export function rssTrend(samples: readonly RssSample[], pick: (s: RssSample) => number): RssTrend {
  const points = samples.map((s) => ({ t: s.t, y: pick(s) }));
  const half = Math.floor(points.length / 2);
  const tenth = Math.max(1, Math.floor(points.length / 10));
  const second = slopePerMinute(points.slice(half));
  const secondHalfMinutes = ((points.at(-1)?.t ?? 0) - (points[half]?.t ?? 0)) / 60;
  return {
    firstHalfMBPerMin: round2(slopePerMinute(points.slice(0, half + 1))),
    secondHalfMBPerMin: round2(second),
    startMB: round2(mean(points.slice(0, tenth).map((p) => p.y))),
    endMB: round2(mean(points.slice(-tenth).map((p) => p.y))),
    growing: second > GROWTH_LIMIT_MB_PER_MIN && second * secondHalfMinutes > GROWTH_LIMIT_MB,
  };
}

function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const W = 760;
const H = 380;
const M = { left: 64, right: 210, top: 84, bottom: 48 };

/** The chart: engine RSS and caller RSS (MB) over minutes; `notes` are lines under the title. */
export function rssChartSvg(samples: readonly RssSample[], title: string, notes: string[] = []): string {
  const maxT = Math.max(1, ...samples.map((s) => s.t)) / 60;
  const maxY = Math.max(1, ...samples.flatMap((s) => [s.engineMB, s.callerMB]));
  const x = scaleLinear()
    .domain([0, maxT])
    .range([M.left, W - M.right])
    .nice();
  const y = scaleLinear()
    .domain([0, maxY * 1.1])
    .range([H - M.bottom, M.top])
    .nice();
  const f1 = format(".3~f");
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" ` +
      `font-family="system-ui, sans-serif" font-size="11">`,
    `<rect width="100%" height="100%" fill="#ffffff"/>`,
    `<text x="8" y="18" font-size="13" font-weight="bold">${esc(title)}</text>`,
    ...notes.map((n, i) => `<text x="8" y="${34 + i * 14}" fill="#555">${esc(n)}</text>`),
  ];
  for (const t of y.ticks(6)) {
    out.push(
      `<line x1="${M.left}" x2="${W - M.right}" y1="${y(t)}" y2="${y(t)}" stroke="#e4e4e4"/>`,
      `<text x="${M.left - 6}" y="${y(t) + 4}" text-anchor="end">${f1(t)}</text>`,
    );
  }
  for (const t of x.ticks(8)) {
    out.push(
      `<line x1="${x(t)}" x2="${x(t)}" y1="${H - M.bottom}" y2="${H - M.bottom + 4}" stroke="#444"/>`,
      `<text x="${x(t)}" y="${H - M.bottom + 16}" text-anchor="middle">${f1(t)}</text>`,
    );
  }
  out.push(
    `<line x1="${M.left}" x2="${W - M.right}" y1="${H - M.bottom}" y2="${H - M.bottom}" stroke="#444"/>`,
    `<line x1="${M.left}" x2="${M.left}" y1="${M.top}" y2="${H - M.bottom}" stroke="#444"/>`,
    `<text x="${(M.left + W - M.right) / 2}" y="${H - 12}" text-anchor="middle">minutes of typing</text>`,
    `<text transform="translate(16,${(M.top + H - M.bottom) / 2}) rotate(-90)" text-anchor="middle">` +
      `resident set size (MB)</text>`,
  );
  const series: Array<{ name: string; colour: string; pick: (s: RssSample) => number }> = [
    { name: "engine process", colour: "#c0392b", pick: (s) => s.engineMB },
    { name: "caller (extension host side)", colour: "#2471a3", pick: (s) => s.callerMB },
  ];
  series.forEach((s, i) => {
    const d = samples
      .map((p, k) => `${k ? "L" : "M"}${x(p.t / 60).toFixed(1)},${y(s.pick(p)).toFixed(1)}`)
      .join("");
    out.push(`<path d="${d}" fill="none" stroke="${s.colour}" stroke-width="1.6"/>`);
    const ly = M.top + 10 + i * 18;
    out.push(
      `<line x1="${W - M.right + 10}" x2="${W - M.right + 30}" y1="${ly}" y2="${ly}" stroke="${s.colour}" ` +
        `stroke-width="2"/>`,
      `<text x="${W - M.right + 34}" y="${ly + 4}">${esc(s.name)}</text>`,
    );
  });
  out.push("</svg>");
  return `${out.join("\n")}\n`;
}
