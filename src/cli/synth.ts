// `monet-lens synth`: a random-weight checkpoint of a published shape, for speed work.
import { copyFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import { CODEMONET_VD_1_4B, writeSyntheticCheckpoint } from "../checkpoint/synth";
import { TOKENIZER_FILE } from "../engine/model-folder";
import { embeddedModelDir } from "../engine/model-paths";
import { choiceOption, intOption } from "./args";
import { command } from "./command";

const SHAPES = { "1.4b": CODEMONET_VD_1_4B } as const;

export const synthCommand = command({
  name: "synth",
  summary: "a random-weight checkpoint of a published shape, for speed work",
  options: {
    shape: { type: "string", value: Object.keys(SHAPES).join("|"), help: "the shape (default 1.4b)" },
    out: { type: "string", value: "DIR", help: "the folder to write", required: true },
    seed: { type: "string", value: "S", help: "the random seed (default 0)" },
    dtype: { type: "string", value: "BF16|F32", help: "the weights' type (default BF16)" },
  },
  run: synth,
});

async function synth(values: { shape?: string; out?: string; seed?: string; dtype?: string }): Promise<void> {
  const out = values.out!;
  const shape = choiceOption(
    values.shape,
    "shape",
    Object.keys(SHAPES) as Array<keyof typeof SHAPES>,
    "1.4b",
  );
  const dtype = choiceOption(values.dtype, "dtype", ["BF16", "F32"] as const, "BF16");
  let last = -1;
  await writeSyntheticCheckpoint(out, SHAPES[shape], {
    seed: intOption(values.seed, "seed", 0),
    dtype,
    onProgress: (done, total) => {
      const pct = Math.floor((100 * done) / total);
      if (pct === last) return;
      last = pct;
      process.stderr.write(`\rwriting ${shape} checkpoint: ${pct}%`);
    },
  });
  process.stderr.write("\n");
  // A 32,000-piece tokenizer is not ours to ship; the demo model's stands in when the vocab fits.
  const tok = join(embeddedModelDir(), TOKENIZER_FILE);
  if (existsSync(tok) && !existsSync(join(out, TOKENIZER_FILE))) copyFileSync(tok, join(out, TOKENIZER_FILE));
  console.log(`wrote ${out}`);
}
