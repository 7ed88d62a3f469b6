// Which files of a model repository Monet Lens fetches: only what the checkpoint reader and
// the tokenizer read. Never code (`*.py`: Monet Lens runs no code from a model) and never the
// `interpretation/*.pkl` routing dumps (pickles can run code, and they are gigabytes).
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";

export const WANTED_NAMES: readonly string[] = [
  "config.json",
  "model.safetensors.index.json",
  "tokenizer.model",
  "tokenizer_config.json",
  "generation_config.json",
  "special_tokens_map.json",
];

/** A repository path Monet Lens fetches: a wanted name or a `.safetensors` file, at the top level. */
export function isWantedFile(path: string): boolean {
  if (path.includes("/")) return false;
  return WANTED_NAMES.includes(path) || path.endsWith(".safetensors");
}

/**
 * What a snapshot folder lacks to be run: config.json, tokenizer.model, and the weights
 * (model.safetensors, or the index and every shard it lists). Empty: complete.
 */
export function missingModelFiles(dir: string): string[] {
  const missing = ["config.json", "tokenizer.model"].filter((f) => !existsSync(join(dir, f)));
  if (existsSync(join(dir, "model.safetensors"))) return missing;
  const index = join(dir, "model.safetensors.index.json");
  if (!existsSync(index)) return [...missing, "model.safetensors (or model.safetensors.index.json)"];
  try {
    const map = (JSON.parse(readFileSync(index, "utf8")) as { weight_map?: Record<string, string> })
      .weight_map;
    const shards = [...new Set(Object.values(map ?? {}))];
    return [...missing, ...shards.filter((s) => typeof s !== "string" || !existsSync(join(dir, s)))];
  } catch {
    return [...missing, "model.safetensors.index.json (unreadable)"];
  }
}
