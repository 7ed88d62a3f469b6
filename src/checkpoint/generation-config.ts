// generation_config.json: the end-of-sequence ids generation stops at, as transformers'
// generate() reads them (they may differ from config.json's, e.g. a chat model's end-of-turn
// piece). Absent file or key: none beyond config.json's.
import { join } from "node:path";
import { CheckpointError } from "./errors";
import { readOptionalJsonObject } from "./json-file";

/** generation_config.json's `eos_token_id` (an id or a list of ids), checked against the vocabulary. */
export async function loadGenerationEosIds(dir: string, vocabSize: number): Promise<number[]> {
  const file = join(dir, "generation_config.json");
  const raw = await readOptionalJsonObject(file, "generation_config.json");
  const v = raw?.eos_token_id;
  if (v === undefined || v === null) return [];
  const list = Array.isArray(v) ? v : [v];
  const bad = list.find((x) => typeof x !== "number" || !Number.isInteger(x) || x < 0 || x >= vocabSize);
  if (bad !== undefined)
    throw new CheckpointError(
      file,
      `"eos_token_id" must be an integer from 0 to ${vocabSize - 1} or a list of them, found ${JSON.stringify(bad)}: re-download it`,
    );
  return list as number[];
}
