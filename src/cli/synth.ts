// `monet-lens synth`: a random-weight checkpoint with a published model's config, for speed
// work: weights, config.json, generation_config.json, and a tokenizer.model whose vocabulary
// matches vocab_size.
import { copyFileSync, existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { writeFileAtomic } from "../atlas/atomic-write";
import { parseConfig } from "../checkpoint/config";
import { PUBLISHED_CONFIGS, type Decomposition, type PublishedSize } from "../checkpoint/published-configs";
import { writeSyntheticCheckpoint, type HfMonetConfigJson } from "../checkpoint/synth";
import { embeddedModelDir } from "../engine/model-paths";
import { synthTokenizerBytes } from "../tokenizer/synth-tokenizer";
import { choiceOption, intOption, parse, UsageError } from "./args";

export const SYNTH_USAGE = `usage: monet-lens synth --shape 850m|1.4b|4.1b [--decompose vd|hd] --out DIR
                      [--config FILE] [--seed S] [--dtype BF16|F32]

Write a random-weight Monet checkpoint with a published model's config.json values (the
1.4B family: hidden 2048, 24 layers, moe_dim 16, moe_heads 8, moe_topk 8), a matching
tokenizer.model (vocab_size pieces) and generation/tokenizer configs: the real model's
size and routing density, for speed and memory work, with no download.

  --shape 850m|1.4b|4.1b  model size (default 1.4b); the 850M and 4.1B configs are not known
                          to Monet Lens: give --config with that model's config.json
  --decompose vd|hd       vertical (default) or horizontal expert decomposition
  --config FILE           take every value from this config.json instead (e.g. a model's own)
  --out DIR               the folder to write (created; its weight files are replaced)
  --seed S                random seed (default 0)
  --dtype BF16|F32        weight dtype (default BF16, as published)`;

const SHAPES = ["850m", "1.4b", "4.1b"] as const satisfies readonly PublishedSize[];
const DECOMPOSITIONS = ["vd", "hd"] as const satisfies readonly Decomposition[];

function chooseConfig(
  shape: PublishedSize,
  decompose: Decomposition,
  file: string | undefined,
): HfMonetConfigJson {
  if (file) {
    const json = JSON.parse(readFileSync(file, "utf8")) as HfMonetConfigJson;
    parseConfig(json, file); // clear errors for a bad file before writing gigabytes
    return json;
  }
  const published = PUBLISHED_CONFIGS[shape][decompose];
  if (!published)
    throw new UsageError(
      `the published config.json of the ${shape.toUpperCase()} Monet-${decompose.toUpperCase()} model is not known to Monet Lens (no source for its values was found): pass --config with that model's config.json (e.g. from \`monet-lens pull\` or its Hub page)`,
    );
  return published;
}

export async function synthCommand(argv: string[]): Promise<void> {
  const { values } = parse(argv, {
    shape: { type: "string" },
    decompose: { type: "string" },
    config: { type: "string" },
    out: { type: "string" },
    seed: { type: "string" },
    dtype: { type: "string" },
    help: { type: "boolean", short: "h" },
  });
  if (values.help) {
    console.log(SYNTH_USAGE);
    return;
  }
  if (!values.out) throw new UsageError("synth needs --out DIR");
  const shape = choiceOption(values.shape, "shape", SHAPES, "1.4b");
  const decompose = choiceOption(values.decompose, "decompose", DECOMPOSITIONS, "vd");
  const dtype = choiceOption(values.dtype, "dtype", ["BF16", "F32"] as const, "BF16");
  const config = chooseConfig(shape, decompose, values.config);
  const what = values.config ?? `${shape} ${decompose}`;
  let last = -1;
  await writeSyntheticCheckpoint(values.out, config, {
    seed: intOption(values.seed, "seed", 0),
    dtype,
    onProgress: (done, total) => {
      const pct = Math.floor((100 * done) / total);
      if (pct !== last) process.stderr.write(`\rwriting ${what} checkpoint: ${(last = pct)}%`);
    },
  });
  process.stderr.write("\n");
  const c = parseConfig(
    JSON.parse(readFileSync(join(values.out, "config.json"), "utf8")),
    join(values.out, "config.json"),
  );
  const demo = embeddedModelDir();
  writeFileAtomic(
    join(values.out, "tokenizer.model"),
    synthTokenizerBytes(join(demo, "tokenizer.model"), c.vocabSize),
  );
  for (const f of ["tokenizer_config.json", "special_tokens_map.json"])
    if (existsSync(join(demo, f))) copyFileSync(join(demo, f), join(values.out, f));
  console.log(`wrote ${values.out} (${what}, tokenizer with ${c.vocabSize} pieces)`);
}
