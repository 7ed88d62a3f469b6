// A checkpoint folder opened for use: the checkpoint (config.json, every shard header and
// every tensor shape checked) and its tokenizer, checked to belong to it. One async function
// for the engine, `monet-lens info` and the extension's folder check, so that model files
// are read without blocking (the extension host must never wait on them).
import { join } from "node:path";
import { Checkpoint } from "../checkpoint/checkpoint";
import type { MonetConfig } from "../checkpoint/config";
import { SentencePieceTokenizer } from "../tokenizer/tokenizer";
import { checkTokenizerFits } from "../tokenizer/vocab-check";

export const TOKENIZER_FILE = "tokenizer.model";

export interface ModelFolder {
  /** Open: the caller closes it. */
  checkpoint: Checkpoint;
  tokenizer: SentencePieceTokenizer;
}

/** Opens and checks the checkpoint in `dir` and its tokenizer; throws with the file and the fix. */
export async function openModelFolder(dir: string): Promise<ModelFolder> {
  const checkpoint = await Checkpoint.open(dir);
  try {
    return { checkpoint, tokenizer: await loadTokenizer(checkpoint.dir, checkpoint.config) };
  } catch (e) {
    await checkpoint.close();
    throw e;
  }
}

/** The folder's tokenizer, checked against the config's vocabulary when one is given. */
export async function loadTokenizer(
  dir: string,
  config?: Pick<MonetConfig, "vocabSize"> & Partial<Pick<MonetConfig, "bosTokenId" | "eosTokenId">>,
): Promise<SentencePieceTokenizer> {
  const file = join(dir, TOKENIZER_FILE);
  // Refuses what is not a regular file (a FIFO would block forever) and says why a file
  // cannot be read (missing, a tokenizer.json instead, permissions), naming it.
  const tokenizer = await SentencePieceTokenizer.fromFileAsync(file);
  if (config) checkTokenizerFits(tokenizer, config, file);
  return tokenizer;
}
