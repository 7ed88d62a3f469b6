// `monet-lens generate`: a completion from the model, streamed to stdout.
import { LoopFilter } from "../completion/loop-stop";
import { intOption, numberOption } from "./args";
import { command } from "./command";
import { ENGINE_OPTIONS, withEngine } from "./engine-options";
import { SELECTION_OPTIONS, selectionFromOptions } from "./selection-options";

export const generateCommand = command({
  name: "generate",
  summary: "a completion from the model, streamed to stdout",
  options: {
    prompt: { type: "string", value: "STR", help: "the text to continue", required: true },
    "max-tokens": { type: "string", value: "N", help: "most tokens to generate (default 64)" },
    temperature: { type: "string", value: "T", help: "sampling temperature; 0, the default, is greedy" },
    "top-p": { type: "string", value: "P", help: "nucleus sampling threshold (default 1)" },
    seed: { type: "string", value: "S", help: "the sampler's seed (default 0)" },
    ...SELECTION_OPTIONS,
    ...ENGINE_OPTIONS,
    json: { type: "boolean", help: "print one JSON object (text, ids, timings) instead of the text" },
  },
  async run(values) {
    const prompt = values.prompt!;
    const maxTokens = intOption(values["max-tokens"], "max-tokens", 64, 1);
    const temperature = numberOption(values.temperature, "temperature", 0, 0, 10);
    const topP = numberOption(values["top-p"], "top-p", 1, Number.MIN_VALUE, 1);
    const seed = intOption(values.seed, "seed", 0);
    await withEngine(values, { quiet: values.json }, async (engine) => {
      const selection = selectionFromOptions(engine, values);
      // Printed as it comes, less a loop (a line or phrase repeated, as the demo model does),
      // which also ends the generation; --json gives the model's text as it is.
      const loops = values.json ? undefined : new LoopFilter();
      const result = await engine.generate(prompt, {
        maxTokens,
        temperature,
        topP,
        seed,
        steering: selection.steering,
        onText: loops ? (t) => process.stdout.write(loops.push(t)) : undefined,
        shouldStop: loops ? () => loops.looping : undefined,
      });
      if (loops) process.stdout.write(loops.end());
      const masked = selection.description;
      if (values.json) {
        console.log(
          JSON.stringify({
            text: result.text,
            ids: result.ids,
            prompt_tokens: result.promptTokens,
            prefill_ms: round(result.prefillMs),
            decode_tokens_per_s: round(result.decodeTokensPerS),
            ep: engine.ep,
            stop_reason: result.stopReason,
            masked,
            steering: selection.steering?.label ?? "",
          }),
        );
      } else {
        process.stdout.write("\n");
        process.stderr.write(
          `[${engine.ep}] ${result.promptTokens} prompt tokens, prefill ${round(result.prefillMs)} ms, ` +
            `${result.ids.length} tokens at ${round(result.decodeTokensPerS)} tokens/s, ` +
            `stop: ${loops?.looping ? "loop (repetition dropped)" : result.stopReason}` +
            `${masked ? `, ${values.steer ? "steering" : "masked"}: ${masked}` : ""}\n`,
        );
      }
    });
  },
});

const round = (x: number) => Math.round(x * 10) / 10;
