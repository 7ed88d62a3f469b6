// monet-lens: the command-line face of the engine. Errors go to stderr with exit code 1,
// as one clear message, never a stack trace (set MONET_LENS_DEBUG=1 for one).
import { atlasCommand } from "./atlas";
import { benchCommand } from "./bench";
import { generateCommand } from "./generate";
import { infoCommand } from "./info";
import { synthCommand } from "./synth";
import { routeCommand } from "./route";
import { tokenizeCommand } from "./tokenize";
import { UsageError } from "./args";

const USAGE = `usage: monet-lens <command> [options]

  info      [--model DIR] [--json]                       describe and validate a checkpoint
  tokenize  [--model DIR] --text STR [--json]            token ids (BOS included)
  generate  [--model DIR] --prompt STR [--max-tokens N] [--temperature T] [--top-p P]
            [--seed S] [--mask LANG,... [--atlas FILE] | --mask-file FILE]
            [--ep auto|cpu|webgpu|cuda] [--dtype D] [--json]
  bench     [--model DIR] [--ep ...] [--dtype D] [--threads N] [--new-tokens N] [--prefill 128,512]
            [--contexts 64,...] [--mask LANG,... [--atlas FILE] | --mask-file FILE] [--json]
  route     [--model DIR] [--atlas FILE] [--mask LANG,...] (--text STR | --file PATH)
            [--top N] [--dtype D] [--json]               per token: language shares, top experts
  atlas build [--model DIR] --corpus DIR --out FILE [--ratio 2] [--min-tokens N]
            [--max-tokens-per-language N] [--languages LANG,...] [--holdout-every K] [--dtype D]
                                                         label language-specialised experts
  atlas eval  [--model DIR] [--atlas FILE] --corpus DIR [--max-tokens-per-language N]
            [--languages LANG,...] [--mask LANG,...] [--svg FILE] [--dtype D] [--json]
                                                         loss per language, each language masked
  synth     --shape 1.4b --out DIR [--seed S] [--dtype BF16|F32]

--model defaults to the embedded demo model (models/tiny-codemonet); --atlas defaults to
the atlas shipped for the model being run (models/atlases/). --mask python,lua masks
those languages' experts in every routing group. --dtype (auto|float32|float16|int8|int4) is the
converted model's precision: auto is float16 on GPUs, and on the CPU float32 for models up to
1 GiB of float32 weights, int8 beyond; int8/int4 quantize the large matrices (docs/quantization.md).`;

const COMMANDS: Record<string, (argv: string[]) => Promise<void>> = {
  info: infoCommand,
  tokenize: tokenizeCommand,
  generate: generateCommand,
  bench: benchCommand,
  synth: synthCommand,
  route: routeCommand,
  atlas: atlasCommand,
};

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === "--help" || name === "-h" || name === "help") {
    console.log(USAGE);
    return name ? 0 : 1;
  }
  const command = COMMANDS[name];
  if (!command) {
    process.stderr.write(`monet-lens: unknown command "${name}"\n\n${USAGE}\n`);
    return 1;
  }
  try {
    await command(rest);
    return 0;
  } catch (e) {
    if (process.env.MONET_LENS_DEBUG) console.error(e);
    const msg = e instanceof Error ? e.message : String(e);
    process.stderr.write(`monet-lens ${name}: ${msg}${e instanceof UsageError ? `\n\n${USAGE}` : ""}\n`);
    return 1;
  }
}

main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
