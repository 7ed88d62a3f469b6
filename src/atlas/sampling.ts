// Which text of a language the model reads under a token budget: every file is cut into
// pieces of at most `segmentTokens` tokens (one forward pass each), and pieces are taken
// round-robin — the first piece of every file (in budget order), then the second of every
// file, and so on — so that one long or generated file cannot fill the budget alone.
import type { SentencePieceTokenizer } from "../tokenizer/tokenizer";
import { readSource, type CorpusFile } from "./corpus";
import { segmentBounds, segmentText } from "./segments";

export interface Piece {
  text: string;
  /** Tokens without BOS. */
  tokens: number;
  /** The file it was cut from, and where: `text` is the file's text from `offset` (UTF-16 units). */
  file: CorpusFile;
  offset: number;
}

export interface Sample {
  pieces: Piece[];
  tokens: number;
  /** Files that gave at least one piece, with their content hashes. */
  used: Array<{ file: CorpusFile; hash: string; sha256: string; bytes: number }>;
}

/** `skip(hash)` leaves a file out (e.g. content the atlas has seen). */
export function samplePieces(
  tokenizer: SentencePieceTokenizer,
  files: readonly CorpusFile[],
  segmentTokens: number,
  budget: number,
  skip?: (hash: string) => boolean,
): Sample {
  const pieces: Piece[] = [];
  const used: Sample["used"] = [];
  const cut = new Map<CorpusFile, Piece[]>();
  let left = budget;
  const piecesOf = (file: CorpusFile): Piece[] => {
    let list = cut.get(file);
    if (!list) {
      const src = readSource(file);
      list =
        !src || skip?.(src.hash)
          ? []
          : segmentBounds(tokenizer, src.text, segmentTokens).map(([from, to]) => {
              const text = src.text.slice(from, to);
              return { text, tokens: tokenizer.encode(text, { addBos: false }).length, file, offset: from };
            });
      if (src && list.length > 0)
        used.push({ file, hash: src.hash, sha256: src.sha256, bytes: Buffer.byteLength(src.text) });
      cut.set(file, list);
    }
    return list;
  };
  for (let round = 0; left > 0; round++) {
    let any = false;
    for (const file of files) {
      if (left <= 0) break;
      const list = piecesOf(file);
      const piece = list[round];
      if (!piece) continue;
      any = true;
      if (piece.tokens <= left) {
        pieces.push(piece);
        left -= piece.tokens;
      } else {
        // The last piece: cut to what the budget has left, at a token boundary.
        const text = segmentText(tokenizer, piece.text, Math.max(left, 8))[0]!;
        pieces.push({ ...piece, text, tokens: tokenizer.encode(text, { addBos: false }).length });
        left = 0;
      }
    }
    if (!any) break; // every file is used up
  }
  return { pieces, tokens: pieces.reduce((n, p) => n + p.tokens, 0), used };
}
