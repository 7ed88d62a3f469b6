// `monet-lens synth`: a random-weight checkpoint with a published model's config, for speed
// work: weights, config.json, generation_config.json, and a tokenizer.model whose vocabulary
// matches vocab_size.
import { copyFileSync, existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parseConfig } from "../checkpoint/config";
import { type Decomposition, PUBLISHED_CONFIGS, type PublishedSize } from "../checkpoint/published-configs";
import { type HfMonetConfigJson, writeSyntheticCheckpoint } from "../checkpoint/synth";
import { TOKENIZER_FILE } from "../engine/model-folder";
import { embeddedModelDir } from "../engine/model-paths";
import { writeFileAtomic } from "../files/atomic-write";
import { synthTokenizerBytes } from "../tokenizer/synth-tokenizer";
import { choiceOption, intOption, UsageError } from "./args";
import { command } from "./command";

const SHAPES = ["850m", "1.4b", "4.1b"] as const satisfies readonly PublishedSize[];
const DECOMPOSITIONS = ["vd", "hd"] as const satisfies readonly Decomposition[];

export const synthCommand = command({
  name: "synth",
  summary: "a random-weight checkpoint with a published model's config (speed and memory work)",
  options: {
    shape: {
      type: "string",
      value: SHAPES.join("|"),
      help:
        "model size (default 1.4b); the 850M and 4.1B configs are not known to Monet Lens: " +
        "give --config with that model's config.json",
    },
    decompose: {
      type: "string",
      value: DECOMPOSITIONS.join("|"),
      help: "vertical (default) or horizontal expert decomposition",
    },
    config: {
      type: "string",
      value: "FILE",
      help: "take every value from this config.json instead (e.g. a model's own)",
    },
    out: {
      type: "string",
      value: "DIR",
      help: "the folder to write (its weight files are replaced)",
      required: true,
    },
    seed: { type: "string", value: "S", help: "random seed (default 0)" },
    dtype: { type: "string", value: "BF16|F32", help: "weight dtype (default BF16, as published)" },
  },
  notes:
    "Writes the published config.json values (the 1.4B family: hidden 2048, 24 layers, moe_dim 16, " +
    "moe_heads 8, moe_topk 8), a tokenizer.model with vocab_size pieces and the generation and " +
    "tokenizer configs: the real model's size and routing density, with no download.",
  async run(values) {
    const out = values.out!;
    const shape = choiceOption(values.shape, "shape", SHAPES, "1.4b");
    const decompose = choiceOption(values.decompose, "decompose", DECOMPOSITIONS, "vd");
    const dtype = choiceOption(values.dtype, "dtype", ["BF16", "F32"] as const, "BF16");
    const config = chooseConfig(shape, decompose, values.config);
    const what = values.config ?? `${shape} ${decompose}`;
    let last = -1;
    await writeSyntheticCheckpoint(out, config, {
      seed: intOption(values.seed, "seed", 0),
      dtype,
      onProgress: (done, total) => {
        const pct = Math.floor((100 * done) / total);
        if (pct === last) return;
        last = pct;
        process.stderr.write(`\rwriting ${what} checkpoint: ${pct}%`);
      },
    });
    process.stderr.write("\n");
    const configFile = join(out, "config.json");
    const c = parseConfig(JSON.parse(readFileSync(configFile, "utf8")), configFile);
    const demo = embeddedModelDir();
    writeFileAtomic(join(out, TOKENIZER_FILE), synthTokenizerBytes(join(demo, TOKENIZER_FILE), c.vocabSize));
    for (const f of ["tokenizer_config.json", "special_tokens_map.json"])
      if (existsSync(join(demo, f))) copyFileSync(join(demo, f), join(out, f));
    console.log(`wrote ${out} (${what}, tokenizer with ${c.vocabSize} pieces)`);
  },
});

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
      `the published config.json of the ${shape.toUpperCase()} Monet-${decompose.toUpperCase()} model ` +
        "is not known to Monet Lens (no source for its values was found): pass --config with that " +
        "model's config.json (e.g. from `monet-lens pull` or its Hub page)",
    );
  return published;
}
