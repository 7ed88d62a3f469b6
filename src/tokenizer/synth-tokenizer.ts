// A tokenizer.model for a random-weight checkpoint: the demo model's SentencePiece BPE model
// (its normalizer, special pieces, byte-fallback pieces and 8,192 pieces) grown to the
// checkpoint's vocab_size with generated pieces, so that the tokenizer fits the embedding
// rows as the published 32,000-piece LLaMA tokenizer does (which is not ours to ship).
import { readFileSync } from "node:fs";
import { parseSentencePieceModel } from "./sentencepiece-model";
import { padSentencePieceModel, writeSentencePieceModel } from "./sentencepiece-writer";

export function synthTokenizerBytes(baseModelFile: string, vocabSize: number): Uint8Array {
  const base = parseSentencePieceModel(readFileSync(baseModelFile), baseModelFile);
  return writeSentencePieceModel(padSentencePieceModel(base, vocabSize));
}
