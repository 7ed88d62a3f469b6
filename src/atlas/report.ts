// The evaluation as text: the Table-3 matrix of cross-entropy increases in Markdown, and
// the "is the language's own loss raised clearly more than any other's" verdict per column.
import type { DeltaTable, EvalResult } from "./evaluate";

/**
 * A masked language passes when its own Δ is positive, at least `factor` times the largest
 * Δ of any other language (or that Δ is ≤ 0), and above it by at least `margin` nats.
 */
export function passes(t: DeltaTable, c: number, factor = 2, margin = 0.01): boolean {
  const own = t.target[c]!;
  const other = t.maxOther[c]!;
  return Number.isFinite(own) && own > 0 && own - other >= margin && (other <= 0 || own >= factor * other);
}

function fmt(x: number, digits = 3): string {
  if (!Number.isFinite(x)) return "—";
  const r = Number(x.toFixed(digits));
  return (r < 0 ? "−" : "+") + Math.abs(r).toFixed(digits);
}

export function markdownTable(t: DeltaTable, r: Pick<EvalResult, "none" | "tokens">): string {
  const head = `| evaluated \\ masked | CE (no mask) | ${t.cols.join(" | ")} |`;
  const rule = `|---|---:|${t.cols.map(() => "---:").join("|")}|`;
  const body = t.rows.map((row, ri) => {
    const cells = t.cols.map((col, c) => {
      const s = fmt(t.delta[ri]![c]!);
      return row === col ? `**${s}**` : s;
    });
    return `| ${row} (${r.tokens[row] ?? "?"} tok) | ${r.none[row]!.toFixed(3)} | ${cells.join(" | ")} |`;
  });
  const target = `| **Δ target** | | ${t.target.map((x) => `**${fmt(x)}**`).join(" | ")} |`;
  const others = `| mean Δ others | | ${t.others.map((x) => fmt(x)).join(" | ")} |`;
  const max = `| max Δ others | | ${t.maxOther.map((x) => fmt(x)).join(" | ")} |`;
  const verdict =
    `| clearly own-language | | ` +
    `${t.cols.map((_, c) => (passes(t, c) ? "yes" : "**no**")).join(" | ")} |`;
  return [head, rule, ...body, target, others, max, verdict].join("\n");
}

export function passCount(t: DeltaTable): { passed: string[]; failed: string[] } {
  const passed = t.cols.filter((_, c) => passes(t, c));
  return { passed, failed: t.cols.filter((c) => !passed.includes(c)) };
}
