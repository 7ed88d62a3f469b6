// A tokenizer belongs to a checkpoint when its pieces fit the embedding rows: more pieces
// than rows would index past the embeddings, and far fewer means another model's
// tokenizer (checkpoints pad the rows a little, to a multiple of 64 or 128, never by
// a tenth). Used by the engine and by the extension's model-folder check.
import type { MonetConfig } from "../checkpoint/config";
import { TokenizerError } from "./errors";
import type { SentencePieceTokenizer } from "./tokenizer";

/** Embedding rows beyond the tokenizer's pieces that padding explains. */
export function paddingAllowance(vocabSize: number): number {
  return Math.max(1024, Math.floor(vocabSize / 10));
}

export function checkTokenizerFits(
  tokenizer: SentencePieceTokenizer,
  config: Pick<MonetConfig, "vocabSize"> & Partial<Pick<MonetConfig, "bosTokenId" | "eosTokenId">>,
  file: string,
): void {
  checkSpecialTokens(tokenizer, config, file);
  const pieces = tokenizer.vocabSize;
  const rows = config.vocabSize;
  if (pieces > rows || rows - pieces > paddingAllowance(rows)) {
    throw new TokenizerError(
      file,
      `the tokenizer has ${pieces} pieces but config.json's vocab_size (the embedding rows) is ${rows}: they belong to different models; use the tokenizer.model that came with this checkpoint`,
    );
  }
}

/**
 * config.json's bos_token_id and eos_token_id must be the tokenizer's <s> and </s>: prompts
 * start with the tokenizer's BOS, and generation stops at config.json's EOS, so a mismatch
 * gives prompts the model never saw or completions that never stop (or stop at a word).
 */
function checkSpecialTokens(
  tokenizer: SentencePieceTokenizer,
  config: Partial<Pick<MonetConfig, "bosTokenId" | "eosTokenId" | "vocabSize">>,
  file: string,
): void {
  for (const [key, configId, id, role] of [
    ["bos_token_id", config.bosTokenId, tokenizer.bosId, "beginning-of-text"],
    ["eos_token_id", config.eosTokenId, tokenizer.eosId, "end-of-text"],
  ] as const) {
    if (configId === undefined || id < 0 || configId === id) continue;
    const piece =
      configId < tokenizer.vocabSize ? ` (the piece ${JSON.stringify(tokenizer.idToPiece(configId))})` : "";
    throw new TokenizerError(
      file,
      `config.json's "${key}" is ${configId}${piece} but this tokenizer's ${role} piece ${JSON.stringify(tokenizer.idToPiece(id))} is id ${id}: config.json and tokenizer.model come from different models, or config.json was edited; use the files that came with the checkpoint (or set "${key}": ${id} in config.json)`,
    );
  }
}
