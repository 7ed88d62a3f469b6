// tokenizer_config.json: whether the tokenizer adds BOS and EOS around a text. Published
// Monet folders carry it (LlamaTokenizer: add_bos_token true, add_eos_token false); the
// engine should honour it rather than assume. A missing file gives LlamaTokenizer's defaults.
import { FileAccessError, readRegularTextAsync } from "../files/regular-file";
import { join } from "node:path";
import { CheckpointError } from "./errors";

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

/** Published tokenizer_config.json files are a few KB; a bound keeps a hostile one from filling memory. */
const TOKENIZER_CONFIG_READ = { maxBytes: 16 << 20, what: "tokenizer_config.json" };

export async function loadTokenizerConfig(dir: string): Promise<TokenizerConfig> {
  const file = join(dir, "tokenizer_config.json");
  let text: string;
  try {
    text = await readRegularTextAsync(file, TOKENIZER_CONFIG_READ);
  } catch (e) {
    if (e instanceof FileAccessError && e.problem === "missing") return DEFAULT_TOKENIZER_CONFIG;
    throw new CheckpointError(
      file,
      `cannot read tokenizer_config.json (${e instanceof FileAccessError ? e.reason : (e as Error).message})`,
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new CheckpointError(
      file,
      `tokenizer_config.json is not valid JSON (${(e as Error).message}): re-download it`,
    );
  }
  if (typeof json !== "object" || json === null || Array.isArray(json))
    throw new CheckpointError(file, "tokenizer_config.json must hold a JSON object: re-download it");
  const raw = json as Record<string, unknown>;
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
