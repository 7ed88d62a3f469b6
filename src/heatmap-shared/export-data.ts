// The routing data as files for papers and notebooks: JSON (route --json's data as is) and
// CSV (one row per token: its index, span and text, then per class its share and lift, the
// share no class owns, and the dominant class). Pure.
import type { RouteData } from "./route-data";

/** A CSV field: quoted when it holds a comma, a quote or a line break (RFC 4180). */
export function csvField(v: string | number | null | undefined): string {
  if (v === null || v === undefined) return "";
  const s = typeof v === "number" ? (Number.isFinite(v) ? String(v) : "") : v;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function routeCsv(data: RouteData): string {
  const controls = data.controls ?? [];
  const classes = [...data.languages, ...controls];
  const header = [
    "token",
    "start",
    "end",
    "text",
    "id",
    ...classes.map((c) => `share_${c}`),
    "share_unowned",
    ...classes.map((c) => `lift_${c}`),
    "dominant",
  ];
  const lines = [header.map(csvField).join(",")];
  data.tokens.forEach((t, k) => {
    const shares = [...t.shares, ...(t.controlShares ?? controls.map(() => null))];
    const lift = [
      ...(t.lift ?? data.languages.map(() => null)),
      ...(t.controlLift ?? controls.map(() => null)),
    ];
    lines.push(
      [k, t.span[0], t.span[1], t.text, t.id, ...shares, t.unowned ?? null, ...lift, t.dominant ?? ""]
        .map(csvField)
        .join(","),
    );
  });
  return `${lines.join("\r\n")}\r\n`;
}

export function routeJsonText(data: RouteData): string {
  return `${JSON.stringify(data, null, 1)}\n`;
}
