// `monet-lens synth`: a random-weight checkpoint of a published shape, for speed work.
import { copyFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import { CODEMONET_VD_1_4B, writeSyntheticCheckpoint } from "../checkpoint/synth";
import { embeddedModelDir } from "../engine/model-paths";
import { choiceOption, intOption, parse, UsageError } from "./args";

const SHAPES = { "1.4b": CODEMONET_VD_1_4B } as const;

export async function synthCommand(argv: string[]): Promise<void> {
  const { values } = parse(argv, {
    shape: { type: "string" },
    out: { type: "string" },
    seed: { type: "string" },
    dtype: { type: "string" },
  });
  if (!values.out) throw new UsageError("synth needs --out DIR");
  const shape = choiceOption(
    values.shape,
    "shape",
    Object.keys(SHAPES) as Array<keyof typeof SHAPES>,
    "1.4b",
  );
  const dtype = choiceOption(values.dtype, "dtype", ["BF16", "F32"] as const, "BF16");
  let last = -1;
  await writeSyntheticCheckpoint(values.out, SHAPES[shape], {
    seed: intOption(values.seed, "seed", 0),
    dtype,
    onProgress: (done, total) => {
      const pct = Math.floor((100 * done) / total);
      if (pct !== last) process.stderr.write(`\rwriting ${shape} checkpoint: ${(last = pct)}%`);
    },
  });
  process.stderr.write("\n");
  // A 32,000-piece tokenizer is not ours to ship; the demo model's stands in when the vocab fits.
  const tok = join(embeddedModelDir(), "tokenizer.model");
  if (existsSync(tok) && !existsSync(join(values.out, "tokenizer.model")))
    copyFileSync(tok, join(values.out, "tokenizer.model"));
  console.log(`wrote ${values.out}`);
}
