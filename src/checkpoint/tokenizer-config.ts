// tokenizer_config.json: whether the tokenizer adds BOS and EOS around a text. Published
// Monet folders carry it (LlamaTokenizer: add_bos_token true, add_eos_token false); the
// engine should honour it rather than assume. A missing file gives LlamaTokenizer's defaults.
import { join } from "node:path";
import { CheckpointError } from "./errors";
import { readOptionalJsonObject } from "./json-file";

export interface TokenizerConfig {
  addBosToken: boolean;
  addEosToken: boolean;
  /** Where it came from, or undefined when the file is absent (defaults). */
  file: string | undefined;
}

/** transformers' LlamaTokenizer defaults. */
export const DEFAULT_TOKENIZER_CONFIG: TokenizerConfig = Object.freeze({
  addBosToken: true,
  addEosToken: false,
  file: undefined,
});

export async function loadTokenizerConfig(dir: string): Promise<TokenizerConfig> {
  const file = join(dir, "tokenizer_config.json");
  const raw = await readOptionalJsonObject(file, "tokenizer_config.json");
  if (!raw) return DEFAULT_TOKENIZER_CONFIG;
  const flag = (key: string, def: boolean): boolean => {
    const v = raw[key];
    if (v === undefined || v === null) return def;
    if (typeof v !== "boolean")
      throw new CheckpointError(
        file,
        `"${key}" must be true or false, found ${JSON.stringify(v)}: re-download it`,
      );
    return v;
  };
  return {
    addBosToken: flag("add_bos_token", DEFAULT_TOKENIZER_CONFIG.addBosToken),
    addEosToken: flag("add_eos_token", DEFAULT_TOKENIZER_CONFIG.addEosToken),
    file,
  };
}
