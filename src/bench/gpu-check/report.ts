// The GPU check's result file (one JSON per run under bench/results/) and its printed summary.
import type { Comparison } from "./compare";
import type { Placement } from "./placement";

export const REPORT_SCHEMA = "monet-lens-gpu-check/1";

export type CheckStatus = "pass" | "fail" | "skip";

export interface CheckRecord {
  provider: string;
  /** float16 is what `--dtype auto` gives on GPU providers. */
  dtype: string;
  model: string;
  check: string;
  /** What the provider's output is compared with. */
  reference: string;
  status: CheckStatus;
  /** Counts for the exit code (informative checks do not). */
  gate: boolean;
  tolerance?: { max_abs: number; decisive_margin?: number };
  result?: Comparison;
  reason?: string;
  /** Seconds since the phase began, when the check finished. */
  at_s?: number;
}

/** A measured figure, or why it was not measured. */
export type Figure =
  | { value: number; unit: string; runs: number[]; tokens: number; note?: string }
  | { skipped: string };

export interface SpeedResult {
  model: string;
  dtype: string;
  /** Seconds to open the engine (conversion cached beforehand). */
  open_s?: number;
  prefill_ms: Record<string, Figure>;
  decode_tokens_per_s: Record<string, Figure>;
  masked_label: string;
  masked_prefill_ms: Record<string, Figure>;
  masked_decode_tokens_per_s: Record<string, Figure>;
  /** The same graph with every decoding step over all experts (dense-decode variant). */
  dense_decode_tokens_per_s: Record<string, Figure>;
  /** Greedy tokens of the union and dense graphs agree (both exact: they should, up to near-ties). */
  union_vs_dense_greedy?: Record<string, { agree_prefix: number; of: number }>;
  gpu_memory_mib: Record<string, GpuMemory>;
}

export interface GpuMemory {
  /** This process's GPU memory (nvidia-smi's compute-apps), when listed. */
  process_mib: number | null;
  /** The whole card's used memory. */
  card_used_mib: number | null;
  note?: string;
}

export type PhaseStatus = "ran" | "unavailable" | "failed" | "timed-out";

export interface PhaseResult {
  provider: string;
  phase: "exactness" | "speed";
  status: PhaseStatus;
  reason?: string;
  onnxruntime?: Record<string, string>;
  /** The engine's probe of this provider in that process. */
  probe?: { available: boolean; reason: string };
  fallbacks: string[];
  checks: CheckRecord[];
  speed?: SpeedResult;
  /** Exactness phase: where onnxruntime placed the demo model's graph nodes on this provider. */
  placement?: Placement;
  /** The same for the demo model's quantized graphs checked (int8, int4): are MatMulNBits and GatherBlockQuantized on the provider? */
  quantized_placement?: Record<string, Placement>;
  /** A failed phase's figures, taken before it failed (not in the summary). */
  partial_speed?: SpeedResult;
  wall_s: number;
  log: string[];
}

export interface GpuCheckReport {
  schema: typeof REPORT_SCHEMA;
  mode: "gpu" | "dry-run";
  started: string;
  wall_s: number;
  budget_s: number;
  commit: { id: string; dirty: boolean | null; source: string };
  machine: Record<string, unknown>;
  plan: Record<string, unknown>;
  tolerances: Record<string, unknown>;
  providers: Record<string, { exactness?: PhaseResult; speed?: PhaseResult }>;
  speed_model?: Record<string, unknown>;
  summary: {
    exactness: "pass" | "fail" | "not run";
    failed_checks: string[];
    /** Phases that crashed or whose provider left at run time. */
    failed_phases: string[];
    providers_ran: string[];
    providers_not_run: Record<string, string>;
    exit_code: number;
  };
}

/** JSON with non-finite numbers (NaN, ∞ errors) kept readable instead of null. */
export function reportJson(value: unknown): string {
  return `${JSON.stringify(value, (_k, v) => (typeof v === "number" && !Number.isFinite(v) ? String(v) : v), 2)}\n`;
}

export function checkName(c: CheckRecord): string {
  return `${c.provider}/${c.dtype}/${c.model}/${c.check}`;
}

const fmt = (x: number) =>
  x === 0 ? "0" : Math.abs(x) < 0.01 || Math.abs(x) >= 1e5 ? x.toExponential(1) : String(+x.toFixed(2));

function figure(f: Figure | undefined): string {
  if (!f) return "—";
  return "skipped" in f ? "skipped" : fmt(f.value);
}

/** The printed summary: providers, exactness counts, failed checks, and every speed figure. */
export function summaryTable(r: GpuCheckReport): string {
  const lines: string[] = [];
  const m = r.machine as { gpus?: Array<{ name: string; driver: string }>; cpu?: { model: string } };
  const gpu = m.gpus?.length ? m.gpus.map((g) => `${g.name} (driver ${g.driver})`).join(", ") : "no GPU";
  lines.push(
    `GPU check, ${r.mode}, ${r.started}, commit ${r.commit.id.slice(0, 12)}${r.commit.dirty ? " (dirty)" : ""}`,
  );
  lines.push(`machine: ${gpu}; CPU ${m.cpu?.model ?? "?"}; ${r.wall_s.toFixed(0)} s of ${r.budget_s} s`);
  lines.push("");
  lines.push("provider  phase      status       onnxruntime  checks pass/fail/skip  note");
  for (const [p, phases] of Object.entries(r.providers)) {
    for (const ph of [phases.exactness, phases.speed]) {
      if (!ph) continue;
      const n = (s: string) => ph.checks.filter((c) => c.status === s).length;
      const counts = ph.phase === "exactness" ? `${n("pass")}/${n("fail")}/${n("skip")}` : "";
      lines.push(
        `${p.padEnd(9)} ${ph.phase.padEnd(10)} ${ph.status.padEnd(12)} ${(ph.onnxruntime?.node ?? ph.onnxruntime?.common ?? "?").padEnd(12)} ${counts.padEnd(22)} ${(ph.reason ?? "").slice(0, 120)}`,
      );
    }
  }
  for (const [p, phases] of Object.entries(r.providers)) {
    const graphs: Array<[string, Placement | undefined]> = [
      ["demo graph", phases.exactness?.placement],
      ...Object.entries(phases.exactness?.quantized_placement ?? {}).map(
        ([dtype, pl]): [string, Placement] => [`demo ${dtype} graph`, pl],
      ),
    ];
    for (const [label, pl] of graphs) {
      if (!pl) continue;
      const parts = Object.entries(pl.providers).map(([ep, v]) => {
        const ops = Object.entries(v.op_types ?? {})
          .sort((a, b) => b[1] - a[1])
          .slice(0, 8)
          .map(([op, n]) => `${op} ${n}`)
          .join(", ");
        return `${ep} ${v.nodes}${ops ? ` (${ops})` : ""}`;
      });
      lines.push(`node placement on ${p} (${label}): ${parts.join("; ") || pl.note}`);
    }
  }
  const failed = Object.values(r.providers).flatMap((ph) =>
    (ph.exactness?.checks ?? []).filter((c) => c.status === "fail"),
  );
  if (failed.length) {
    lines.push("", "failed checks:");
    for (const c of failed)
      lines.push(
        `  ${checkName(c)}: ${c.result ? `max |Δ| ${fmt(c.result.max_abs)} (tolerance ${c.tolerance?.max_abs}), top-1 ${(100 * c.result.top1_agreement).toFixed(1)} %, decisive misses ${c.result.decisive_disagreements}` : ""}${c.reason ? ` ${c.reason}` : ""}`,
      );
  }
  const speeds = Object.entries(r.providers).filter(([, ph]) => ph.speed?.speed);
  if (speeds.length) {
    const first = speeds[0]![1].speed!.speed!;
    lines.push("", `speed: ${first.model}, ${first.dtype}, masks ${first.masked_label}`);
    lines.push(`${"".padEnd(34)}${speeds.map(([p]) => p.padStart(12)).join("")}`);
    const row = (label: string, pick: (s: SpeedResult) => Figure | undefined) =>
      lines.push(
        `${label.padEnd(34)}${speeds.map(([, ph]) => figure(pick(ph.speed!.speed!)).padStart(12)).join("")}`,
      );
    const keys = (pick: (s: SpeedResult) => Record<string, unknown>) => [
      ...new Set(speeds.flatMap(([, ph]) => Object.keys(pick(ph.speed!.speed!)))),
    ];
    for (const k of keys((s) => s.prefill_ms)) row(`prefill ${k} tokens (ms)`, (s) => s.prefill_ms[k]);
    for (const k of keys((s) => s.decode_tokens_per_s))
      row(`decode at ${k} (tokens/s)`, (s) => s.decode_tokens_per_s[k]);
    for (const k of keys((s) => s.masked_prefill_ms))
      row(`masked prefill ${k} tokens (ms)`, (s) => s.masked_prefill_ms[k]);
    for (const k of keys((s) => s.masked_decode_tokens_per_s))
      row(`masked decode at ${k} (tokens/s)`, (s) => s.masked_decode_tokens_per_s[k]);
    for (const k of keys((s) => s.dense_decode_tokens_per_s))
      row(`dense decode at ${k} (tokens/s)`, (s) => s.dense_decode_tokens_per_s[k]);
    const anyMemory = speeds.some(([, ph]) =>
      Object.values(ph.speed!.speed!.gpu_memory_mib).some((g) => g.card_used_mib !== null),
    );
    for (const k of anyMemory ? keys((s) => s.gpu_memory_mib) : [])
      lines.push(
        `${`GPU memory ${k} (MiB, process/card)`.padEnd(34)}${speeds
          .map(([, ph]) => {
            const g = ph.speed!.speed!.gpu_memory_mib[k];
            return `${g?.process_mib ?? "?"}/${g?.card_used_mib ?? "?"}`.padStart(12);
          })
          .join("")}`,
      );
  }
  lines.push(
    "",
    `exactness: ${r.summary.exactness}; providers run: ${r.summary.providers_ran.join(", ") || "none"}; exit code ${r.summary.exit_code}`,
  );
  for (const f of r.summary.failed_phases) lines.push(`  failed: ${f}`);
  for (const [p, why] of Object.entries(r.summary.providers_not_run)) lines.push(`  ${p} not run: ${why}`);
  return lines.join("\n");
}
