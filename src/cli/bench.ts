// `monet-lens bench`: prefill latency and decode speed, measured the way
// ../shared/reference/bench_cpu_ref.py measures the PyTorch reference (median of 3).
import { seededRandom } from "../engine/sampler";
import { intOption } from "./args";
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
    json: { type: "boolean", help: "print one JSON object" },
  },
  async run(values) {
    const newTokens = intOption(values["new-tokens"], "new-tokens", 64, 2);
    const prefillLengths = lengthList(values.prefill, "prefill", [128, 512]);
    const contexts = lengthList(values.contexts, "contexts", [64]);
    const { threads } = engineSettings(values);
    await withEngine(values, { quiet: values.json }, async (engine) => {
      const selection = selectionFromOptions(engine, values);
      const steering = selection.steering;
      const random = seededRandom(0);
      const vocab = engine.config.vocabSize;
      const randomIds = (n: number) =>
        Array.from({ length: n }, () => 3 + Math.floor(random() * (vocab - 3)));
      const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
      const prefill: Record<string, number> = {};
      for (const T of prefillLengths.filter((t) => t < engine.config.maxPositionEmbeddings)) {
        const ids = randomIds(T);
        const once = async () => {
          engine.resetCache();
          return (await engine.generateIds(ids, { maxTokens: 1, steering })).prefillMs;
        };
        await once(); // warm-up
        prefill[String(T)] = round(median([await once(), await once(), await once()]));
      }
      // Decode: a prompt of each context length, then greedy tokens with the KV cache (EOS ignored).
      const byContext: Record<string, number> = {};
      for (const n of contexts.filter((t) => t + newTokens <= engine.config.maxPositionEmbeddings)) {
        const rates: number[] = [];
        const prompt = randomIds(n);
        for (let i = 0; i < 3; i++) {
          engine.resetCache();
          const r = await engine.generateIds(prompt, {
            maxTokens: newTokens,
            stopTokens: [],
            steering,
            ignoreEos: true,
          });
          rates.push(r.decodeTokensPerS);
        }
        byContext[String(n)] = round(median(rates));
      }
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
      };
      if (values.json) console.log(JSON.stringify(result));
      else {
        console.log(`execution provider: ${result.ep}${result.masked ? ` (masked: ${result.masked})` : ""}`);
        for (const [T, ms] of Object.entries(prefill))
          console.log(`prefill ${T.padStart(4)} tokens: ${ms} ms`);
        for (const [n, rate] of Object.entries(byContext))
          console.log(`decode: ${rate} tokens/s (${n}-token prompt, ${newTokens} new tokens, median of 3)`);
      }
    });
  },
});

/** A comma-separated list of token counts (e.g. "128,512,2048"). */
function lengthList(text: string | undefined, name: string, fallback: number[]): number[] {
  if (text === undefined) return fallback;
  return text.split(",").map((t) => intOption(t.trim(), name, 0, 1));
}

const round = (x: number) => Math.round(x * 10) / 10;
