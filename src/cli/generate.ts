// `monet-lens generate`: a completion from the model, streamed to stdout.
import { DTYPE_CHOICES, Engine } from "../engine/engine";
import { EP_PREFERENCES } from "../engine/providers";
import { loadMasksForCli } from "./mask-option";
import { choiceOption, intOption, numberOption, parse, UsageError } from "./args";
import { progressLogger } from "./progress";

export async function generateCommand(argv: string[]): Promise<void> {
  const { values } = parse(argv, {
    model: { type: "string" },
    prompt: { type: "string" },
    "max-tokens": { type: "string" },
    temperature: { type: "string" },
    "top-p": { type: "string" },
    seed: { type: "string" },
    mask: { type: "string" },
    "mask-file": { type: "string" },
    atlas: { type: "string" },
    ep: { type: "string" },
    dtype: { type: "string" },
    json: { type: "boolean" },
  });
  if (values.prompt === undefined) throw new UsageError("generate needs --prompt STR");
  const maxTokens = intOption(values["max-tokens"], "max-tokens", 64, 1);
  const temperature = numberOption(values.temperature, "temperature", 0, 0, 10);
  const topP = numberOption(values["top-p"], "top-p", 1, Number.MIN_VALUE, 1);
  const seed = intOption(values.seed, "seed", 0);
  const ep = choiceOption(values.ep, "ep", EP_PREFERENCES, "auto");
  const dtype = choiceOption(values.dtype, "dtype", DTYPE_CHOICES, "auto");
  const engine = await Engine.open({ modelDir: values.model, ep, dtype, ...progressLogger(!values.json) });
  try {
    const masks = loadMasksForCli(engine, values);
    const result = await engine.generate(values.prompt, {
      maxTokens,
      temperature,
      topP,
      seed,
      masks,
      onText: values.json ? undefined : (t) => process.stdout.write(t),
    });
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
          masked: masks?.label ?? "",
        }),
      );
    } else {
      process.stdout.write("\n");
      process.stderr.write(
        `[${engine.ep}] ${result.promptTokens} prompt tokens, prefill ${round(result.prefillMs)} ms, ${result.ids.length} tokens at ${round(result.decodeTokensPerS)} tokens/s, stop: ${result.stopReason}${masks?.label ? `, masked: ${masks.label}` : ""}\n`,
      );
    }
  } finally {
    await engine.close();
  }
}

const round = (x: number) => Math.round(x * 10) / 10;
