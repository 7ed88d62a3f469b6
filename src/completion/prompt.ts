// The prompt: the text before the cursor, cut at a line start so that it fits a token
// budget. The start is sticky per document: while the user types, the window keeps its
// start line, so each prompt extends the previous one and the engine reuses its cached
// keys and values. When the window outgrows the budget it moves on by a quarter of the
// budget at once (not a line at every keystroke, which would defeat the cache).
//
// Token counts come from the model's tokenizer, but only when needed: a window that
// extends an exactly counted one by n characters has at most 3·n more tokens (a UTF-16
// code unit is at most 3 UTF-8 bytes, one byte-fallback token each), so typing rarely
// costs a tokenisation.
import type { SentencePieceTokenizer } from "../tokenizer/tokenizer";

export interface PromptTokenizer {
  /** Tokens of `text` as a prompt (BOS included). */
  count(text: string): number;
  /** Start offsets in `text` of its tokens (BOS excluded). */
  tokenStarts(text: string): number[];
}

/** A PromptTokenizer over the model's SentencePiece tokenizer. */
export function promptTokenizer(
  tokenizer: Pick<SentencePieceTokenizer, "encode" | "encodeWithSpans">,
): PromptTokenizer {
  return {
    count: (text) => tokenizer.encode(text).length,
    tokenStarts: (text) => tokenizer.encodeWithSpans(text, { addBos: false }).spans.map((s) => s[0]),
  };
}

export interface PromptWindow {
  text: string;
  /** Document offset of text[0]. */
  start: number;
  /** Tokens of `text` (BOS included), or an upper bound of them. */
  tokens: number;
}

interface Measured {
  start: number;
  text: string;
  tokens: number;
}

/** Share of the budget a fresh window fills, leaving room to type before it moves. */
const FRESH_FILL = 0.75;

export class PromptWindows {
  private readonly byDoc = new Map<string, Measured>();

  constructor(private readonly maxDocs = 32) {}

  /**
   * The prompt for a cursor after `textBefore` (which starts at document offset
   * `beforeStart`), at most `budget` tokens.
   */
  window(
    docKey: string,
    textBefore: string,
    beforeStart: number,
    budget: number,
    tokenizer: PromptTokenizer,
  ): PromptWindow {
    if (!(budget >= 2)) throw new RangeError(`the prompt budget must be at least 2 tokens, got ${budget}`);
    const prev = this.byDoc.get(docKey);
    if (
      prev &&
      prev.start >= beforeStart &&
      prev.start - beforeStart <= textBefore.length &&
      isLineStart(textBefore, prev.start - beforeStart)
    ) {
      const text = textBefore.slice(prev.start - beforeStart);
      const bound = prev.tokens + 1 + 3 * (text.length - commonPrefixLength(text, prev.text));
      if (bound <= budget) return { text, start: prev.start, tokens: bound };
      const tokens = tokenizer.count(text);
      if (tokens <= budget) {
        this.remember(docKey, { start: prev.start, text, tokens });
        return { text, start: prev.start, tokens };
      }
    }
    const fresh = freshWindow(textBefore, beforeStart, budget, tokenizer);
    this.remember(docKey, fresh);
    return fresh;
  }

  forget(docKey?: string): void {
    if (docKey === undefined) this.byDoc.clear();
    else this.byDoc.delete(docKey);
  }

  private remember(docKey: string, m: Measured): void {
    this.byDoc.delete(docKey);
    this.byDoc.set(docKey, m);
    if (this.byDoc.size > this.maxDocs) this.byDoc.delete(this.byDoc.keys().next().value!);
  }
}

/** The longest suffix of `textBefore` that starts a line and fills at most FRESH_FILL of the budget. */
export function freshWindow(
  textBefore: string,
  beforeStart: number,
  budget: number,
  tokenizer: PromptTokenizer,
): PromptWindow {
  const whole = { text: textBefore, start: beforeStart, tokens: 0 };
  // Cheap exits: short text fits without counting per token.
  if (textBefore.length + 1 <= budget * FRESH_FILL) return { ...whole, tokens: textBefore.length + 1 };
  const starts = tokenizer.tokenStarts(textBefore);
  if (starts.length + 1 <= budget * FRESH_FILL) return { ...whole, tokens: starts.length + 1 };
  // Tokens from offset o to the end ≈ starts.length − (first token index at or after o).
  const target = Math.max(1, Math.floor(budget * FRESH_FILL) - 1);
  const firstToken = starts.length - target; // the earliest token the window may hold
  let cut = starts[Math.max(0, firstToken)] ?? textBefore.length;
  // Move the cut forward to the next line start (never past the cursor's line start).
  const cursorLineStart = textBefore.lastIndexOf("\n") + 1;
  if (!isLineStart(textBefore, cut)) {
    const nl = textBefore.indexOf("\n", cut);
    cut = nl < 0 || nl + 1 > cursorLineStart ? cursorLineStart : nl + 1;
  }
  let text = textBefore.slice(cut);
  let tokens = tokenizer.count(text);
  // Tokenised on its own the window may count a token or two more than in context.
  while (tokens > budget && text.length > 0) {
    const nl = text.indexOf("\n");
    if (nl < 0 || nl + 1 >= text.length) {
      // One line longer than the budget: keep its end.
      const st = tokenizer.tokenStarts(text);
      text = text.slice(st[Math.max(0, st.length - (budget - 1))] ?? 0);
      cut = textBefore.length - text.length;
      tokens = tokenizer.count(text);
      break;
    }
    cut += nl + 1;
    text = text.slice(nl + 1);
    tokens = tokenizer.count(text);
  }
  return { text, start: beforeStart + cut, tokens };
}

/** textBefore itself begins at a line start (CompletionRequest's contract). */
function isLineStart(text: string, at: number): boolean {
  return at === 0 || text.charCodeAt(at - 1) === 10;
}

function commonPrefixLength(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && a.charCodeAt(i) === b.charCodeAt(i)) i++;
  return i;
}
