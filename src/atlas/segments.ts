// Cuts a source file into pieces the model reads in one pass (each is then tokenised on
// its own, with BOS, as a file opened in the editor is). Cuts fall at the start of a line
// when one is near the limit, so most pieces begin where code does.
import type { SentencePieceTokenizer } from "../tokenizer/tokenizer";

/** Pieces of `text`, each about `maxTokens` tokens at most (BOS not counted). */
export function segmentText(tokenizer: SentencePieceTokenizer, text: string, maxTokens: number): string[] {
  return segmentBounds(tokenizer, text, maxTokens).map(([from, to]) => text.slice(from, to));
}

/** segmentText()'s pieces as [from, to) UTF-16 offsets into `text`. */
export function segmentBounds(
  tokenizer: SentencePieceTokenizer,
  text: string,
  maxTokens: number,
): Array<[number, number]> {
  if (maxTokens < 8) throw new RangeError(`segments need at least 8 tokens, got ${maxTokens}`);
  const { spans } = tokenizer.encodeWithSpans(text, { addBos: false });
  const out: Array<[number, number]> = [];
  let first = 0; // index of the first token of the current piece
  while (first < spans.length) {
    let end = Math.min(first + maxTokens, spans.length); // exclusive token index
    if (end < spans.length) {
      // Prefer the last line start in the second half of the window.
      for (let k = end; k > first + maxTokens / 2; k--) {
        const s = spans[k]![0];
        if (s > 0 && text.charCodeAt(s - 1) === 10) {
          end = k;
          break;
        }
      }
    }
    const from = first === 0 ? 0 : spans[first]![0];
    const to = end < spans.length ? spans[end]![0] : text.length;
    if (to > from) out.push([from, to]);
    first = end;
  }
  return out;
}
