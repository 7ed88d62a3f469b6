// The steering sweep: held-out cross-entropy of each language as its own experts' scale goes
// through a list (e.g. 0, 0.5, 1, 1.5, 2) in every routing group, the rest of the model left
// alone; one curve per language (`atlas eval --steer-sweep`, drawn by sweep-svg.ts). Scale 1
// is the unsteered model, computed once per language whether or not the list has it.
import type { Atlas } from "./atlas-file";
import { type EvalOptions, heldOutWindows, languageLoss, type LogitsModel } from "./evaluate";
import { resolveSteering } from "./steering-selection";

export interface SweepOptions
  extends Pick<EvalOptions, "corpusDir" | "languages" | "maxTokensPerLanguage" | "segmentTokens" | "log"> {
  atlas: Atlas;
  /** The scales, in the order given (each finite, ≥ 0). */
  scales: readonly number[];
  signal?: AbortSignal;
  onProgress?: (p: { done: number; total: number; what: string }) => void;
}

export interface SweepResult {
  scales: number[];
  languages: string[];
  /** ce[language][k]: mean cross-entropy (nats/token) with the language's experts at scales[k]. */
  ce: Record<string, number[]>;
  /** The unsteered cross-entropy (scale 1) per language. */
  none: Record<string, number>;
  /** Predicted tokens and held-out files per language. */
  tokens: Record<string, number>;
  files: Record<string, number>;
}

/** Parses "0,0.5,1,1.5,2": finite scales ≥ 0, no repeats, at least two. */
export function parseSweepScales(text: string): number[] {
  const items = text.split(",").map((s) => s.trim());
  const scales = items.map((s) => (/^(\d+\.?\d*|\.\d+)$/.test(s) ? Number(s) : NaN));
  const bad = items.filter((_, k) => !Number.isFinite(scales[k]));
  if (bad.length > 0)
    throw new Error(
      `--steer-sweep: ${bad.map((b) => JSON.stringify(b)).join(", ")} ${bad.length > 1 ? "are" : "is"} ` +
        "not a scale; give finite numbers ≥ 0 (e.g. 0,0.5,1,1.5,2)",
    );
  if (new Set(scales).size !== scales.length) throw new Error("--steer-sweep: a scale is given twice");
  if (scales.length < 2) throw new Error("--steer-sweep: give at least two scales (e.g. 0,1,2)");
  return scales;
}

export async function steerSweep(model: LogitsModel, opts: SweepOptions): Promise<SweepResult> {
  const { atlas } = opts;
  const { rows, windows, files } = heldOutWindows(model, opts);
  const unknown = rows.filter((l) => !atlas.sets.has(l));
  if (unknown.length > 0)
    throw new Error(
      `the atlas has no experts for ${unknown.join(", ")}; its languages are ${atlas.languages.join(", ")}`,
    );
  const steered = opts.scales.filter((s) => s !== 1);
  const passes = rows.reduce((n, l) => n + windows.get(l)!.length, 0) * (1 + steered.length);
  let done = 0;
  const ce: SweepResult["ce"] = {};
  const none: SweepResult["none"] = {};
  const tokens: SweepResult["tokens"] = {};
  for (const lang of rows) {
    const ws = windows.get(lang)!;
    const loss = async (scale: number) => {
      const steering =
        scale === 1
          ? undefined
          : resolveSteering(atlas, { languages: { [lang]: scale } }, { unknown: "reject" }).steering;
      const what = `${lang} experts ×${scale}`;
      const r = await languageLoss(
        model,
        ws,
        steering,
        () => opts.onProgress?.({ done: ++done, total: passes, what }),
        opts.signal,
      );
      tokens[lang] = r.tokens;
      return r.ce;
    };
    none[lang] = await loss(1);
    const curve: number[] = [];
    for (const s of opts.scales) curve.push(s === 1 ? none[lang]! : await loss(s));
    ce[lang] = curve;
  }
  return { scales: [...opts.scales], languages: rows, ce, none, tokens, files };
}

/** The sweep as a Markdown table: per language, Δ cross-entropy against scale 1 at each scale. */
export function sweepTable(r: SweepResult): string {
  const head = `| language (tokens) | CE at ×1 | ${r.scales.map((s) => `×${s}`).join(" | ")} |`;
  const rule = `|---|---:|${r.scales.map(() => "---:").join("|")}|`;
  const sign = (x: number) =>
    Math.abs(x) < 0.0005 ? "0.000" : `${x > 0 ? "+" : "−"}${Math.abs(x).toFixed(3)}`;
  const rows = r.languages.map(
    (l) =>
      `| ${l} (${r.tokens[l]}) | ${r.none[l]!.toFixed(3)} | ` +
      `${r.ce[l]!.map((x, k) => (r.scales[k] === 1 ? "0" : sign(x - r.none[l]!))).join(" | ")} |`,
  );
  return [head, rule, ...rows].join("\n");
}
