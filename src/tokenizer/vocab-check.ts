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
  config: Pick<MonetConfig, "vocabSize">,
  file: string,
): void {
  const pieces = tokenizer.vocabSize;
  const rows = config.vocabSize;
  if (pieces > rows || rows - pieces > paddingAllowance(rows)) {
    throw new TokenizerError(
      file,
      `the tokenizer has ${pieces} pieces but config.json's vocab_size (the embedding rows) is ${rows}: they belong to different models; use the tokenizer.model that came with this checkpoint`,
    );
  }
}
