// `monet-lens bench`: prefill latency and decode speed, measured the way
// ../shared/reference/bench_cpu_ref.py measures the PyTorch reference (median of 3).
import { ownAnonHugePagesMiB } from "../engine/huge-pages";
import { ownPeakMemoryMiB, resetPeakMemory } from "./peak-memory";
import { seededRandom } from "../engine/sampler";
import { type Steering, steeringFromIndexLists } from "../engine/steering";
import { intOption, UsageError } from "./args";
import { command } from "./command";
import { ENGINE_OPTIONS, engineSettings, withEngine } from "./engine-options";
import { SELECTION_OPTIONS, selectionFromOptions } from "./selection-options";

export const benchCommand = command({
  name: "bench",
  summary: "prefill latency and decode speed (median of 3)",
  options: {
    ...ENGINE_OPTIONS,
    "new-tokens": { type: "string", value: "N", help: "tokens decoded per run (default 64)" },
    prefill: { type: "string", value: "128,512,...", help: "prompt lengths whose prefill is timed" },
    contexts: {
      type: "string",
      value: "64,...",
      help: "prompt lengths after which decoding is timed (default 64)",
    },
    ...SELECTION_OPTIONS,
    compare: {
      type: "boolean",
      help: "the cost of steering: none, masks and --steer's scales in one run, with ratios",
    },
    json: { type: "boolean", help: "print one JSON object" },
    profile: {
      type: "string",
      value: "PREFIX",
      help: "onnxruntime's profiler: write every run's node timings to PREFIX_<date>.json (Chrome trace)",
    },
  },
  notes:
    "--compare runs the same benchmark without steering, with the selection's languages masked, and " +
    "with the selection as given (--steer), interleaved in one run, and prints each one's ratio to the " +
    "unsteered figures.",
  async run(values) {
    const newTokens = intOption(values["new-tokens"], "new-tokens", 64, 2);
    const prefillLengths = lengthList(values.prefill, "prefill", [128, 512]);
    const contexts = lengthList(values.contexts, "contexts", [64]);
    const { threads } = engineSettings(values);
    if (values.compare && !values.steer)
      throw new UsageError("--compare needs --steer LANG=S,... (it compares none, masks and that steering)");
    await withEngine(values, { quiet: values.json, profilePrefix: values.profile }, async (engine) => {
      // The peak from here on: the loaded model and its runs, not a conversion before them.
      const peakFromLoad = resetPeakMemory();
      const selection = selectionFromOptions(engine, values);
      const random = seededRandom(0);
      const vocab = engine.config.vocabSize;
      const randomIds = (n: number) =>
        Array.from({ length: n }, () => 3 + Math.floor(random() * (vocab - 3)));
      const prefillIds = prefillLengths
        .filter((t) => t < engine.config.maxPositionEmbeddings)
        .map((T) => [T, randomIds(T)] as const);
      const prompts = contexts
        .filter((t) => t + newTokens <= engine.config.maxPositionEmbeddings)
        .map((n) => [n, randomIds(n)] as const);
      // One measurement of every figure under `steering`.
      const once = async (steering: Steering | undefined) => {
        const prefill: Record<string, number> = {};
        for (const [T, ids] of prefillIds) {
          engine.resetCache();
          prefill[String(T)] = (await engine.generateIds(ids, { maxTokens: 1, steering })).prefillMs;
        }
        // Decode: a prompt of each context length, then greedy tokens with the KV cache (EOS ignored).
        const decode: Record<string, number> = {};
        for (const [n, prompt] of prompts) {
          engine.resetCache();
          const r = await engine.generateIds(prompt, {
            maxTokens: newTokens,
            stopTokens: [],
            steering,
            ignoreEos: true,
          });
          decode[String(n)] = r.decodeTokensPerS;
        }
        return { prefill, decode };
      };
      const settings: Array<{ name: string; steering: Steering | undefined }> = values.compare
        ? [
            { name: "none", steering: undefined },
            { name: "masks", steering: maskedTwin(selection.steering) },
            { name: "steering", steering: selection.steering },
          ]
        : [{ name: selection.description || "none", steering: selection.steering }];
      // Warm-up, then 3 rounds in which every setting runs once (interleaved, so drift in the
      // machine's load touches all of them alike); the median of the 3 per figure.
      for (const s of settings) await once(s.steering);
      const runs = settings.map(() => [] as Awaited<ReturnType<typeof once>>[]);
      for (let round = 0; round < 3; round++)
        for (const [k, s] of settings.entries()) runs[k]!.push(await once(s.steering));
      const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
      const figures = runs.map((rs) => ({
        prefill: Object.fromEntries(
          prefillIds.map(([T]) => [T, round(median(rs.map((r) => r.prefill[T]!)))]),
        ),
        decode: Object.fromEntries(prompts.map(([n]) => [n, round(median(rs.map((r) => r.decode[n]!)))])),
      }));
      const { prefill, decode: byContext } = figures.at(-1)!;
      const first = Object.values(byContext)[0] ?? 0;
      const result = {
        ep: engine.ep,
        prefill_ms: prefill,
        decode_tokens_per_s: first,
        decode_tokens_per_s_by_context: byContext,
        new_tokens: newTokens,
        model: engine.modelDir,
        masked: selection.description,
        threads: threads ?? "default",
        // Read while the session and its KV cache are alive (absent off Linux).
        anon_huge_pages_mib: ownAnonHugePagesMiB(),
        // VmHWM since the model loaded (absent off Linux).
        peak_memory_mib: peakFromLoad ? ownPeakMemoryMiB() : undefined,
        ...(values.compare ? { compare: compareJson(settings, figures) } : {}),
      };
      if (values.json) console.log(JSON.stringify(result));
      else if (values.compare)
        for (const line of compareLines(settings, figures, newTokens)) console.log(line);
      else {
        console.log(`execution provider: ${result.ep}${result.masked ? ` (masked: ${result.masked})` : ""}`);
        for (const [T, ms] of Object.entries(prefill))
          console.log(`prefill ${T.padStart(4)} tokens: ${ms} ms`);
        for (const [n, rate] of Object.entries(byContext))
          console.log(`decode: ${rate} tokens/s (${n}-token prompt, ${newTokens} new tokens, median of 3)`);
        if (result.anon_huge_pages_mib !== undefined)
          console.log(`huge pages: ${result.anon_huge_pages_mib} MiB of this process's memory`);
        if (result.peak_memory_mib !== undefined)
          console.log(`peak memory: ${result.peak_memory_mib} MiB (resident, since the model loaded)`);
      }
    });
  },
});

interface Figures {
  prefill: Record<string, number>;
  decode: Record<string, number>;
}

/** The same experts as `s`, all masked (scale 0): what masks of the same languages cost. */
function maskedTwin(s: Steering | undefined): Steering | undefined {
  if (!s) return undefined;
  return steeringFromIndexLists(
    s.groups.map((g) => g.indices),
    s.experts,
    `masks of ${s.label}`,
  );
}

const ratio = (x: number, ref: number) => Math.round((x / ref) * 1000) / 1000;

function compareJson(settings: ReadonlyArray<{ name: string; steering?: Steering }>, figures: Figures[]) {
  const ref = figures[0]!;
  return settings.map((s, k) => ({
    setting: s.name,
    label: s.steering?.label ?? "",
    steered_experts: s.steering?.groups.reduce((n, g) => n + g.indices.length, 0) ?? 0,
    prefill_ms: figures[k]!.prefill,
    decode_tokens_per_s: figures[k]!.decode,
    prefill_ratio: Object.fromEntries(
      Object.entries(figures[k]!.prefill).map(([T, ms]) => [T, ratio(ms, ref.prefill[T]!)]),
    ),
    decode_ratio: Object.fromEntries(
      Object.entries(figures[k]!.decode).map(([n, r]) => [n, ratio(r, ref.decode[n]!)]),
    ),
  }));
}

function compareLines(
  settings: ReadonlyArray<{ name: string; steering?: Steering }>,
  figures: Figures[],
  newTokens: number,
): string[] {
  const ref = figures[0]!;
  const lines = [
    "| setting | " +
      [
        ...Object.keys(ref.prefill).map((T) => `prefill ${T} (ms, × none)`),
        ...Object.keys(ref.decode).map((n) => `decode after ${n} (tok/s, × none)`),
      ].join(" | ") +
      " |",
  ];
  lines.push(
    `|---|${[...Object.keys(ref.prefill), ...Object.keys(ref.decode)].map(() => "---:").join("|")}|`,
  );
  settings.forEach((s, k) => {
    const f = figures[k]!;
    const cells = [
      ...Object.entries(f.prefill).map(([T, ms]) => `${ms} (${ratio(ms, ref.prefill[T]!).toFixed(2)})`),
      ...Object.entries(f.decode).map(([n, r]) => `${r} (${ratio(r, ref.decode[n]!).toFixed(2)})`),
    ];
    lines.push(`| ${s.name}${s.steering ? ` (${s.steering.label})` : ""} | ${cells.join(" | ")} |`);
  });
  lines.push("", `median of 3 interleaved rounds; ${newTokens} new tokens per decode run`);
  return lines;
}

/** A comma-separated list of token counts (e.g. "128,512,2048"). */
function lengthList(text: string | undefined, name: string, fallback: number[]): number[] {
  if (text === undefined) return fallback;
  return text.split(",").map((t) => intOption(t.trim(), name, 0, 1));
}

const round = (x: number) => Math.round(x * 10) / 10;
