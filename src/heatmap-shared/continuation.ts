// The A/B view's data (pure): each continuation token's text from its SentencePiece piece,
// and which tokens differ between the continuation without masks and the one with them.
import type { CompareData } from "./route-data";

/** '▁' is a space; `<0xNN>` pieces are bytes of UTF-8 characters. */
const BYTE_PIECE = /^<0x([0-9A-Fa-f]{2})>$/;

function utf8Length(lead: number): number {
  if (lead < 0x80) return 1;
  if (lead >= 0xc2 && lead < 0xe0) return 2;
  if (lead >= 0xe0 && lead < 0xf0) return 3;
  if (lead >= 0xf0 && lead < 0xf5) return 4;
  return 0;
}

/**
 * The text each piece stands for. A character spelt in byte pieces goes to the piece of its
 * first byte (the others get ""), as the tokenizer's spans do; bytes that form no valid
 * character become U+FFFD each.
 */
export function pieceTexts(pieces: readonly string[]): string[] {
  const out = pieces.map((p) => (BYTE_PIECE.test(p) ? "" : p.replace(/▁/g, " ")));
  const decoder = new TextDecoder("utf-8", { fatal: true });
  let k = 0;
  while (k < pieces.length) {
    const m = BYTE_PIECE.exec(pieces[k]!);
    if (!m) {
      k++;
      continue;
    }
    const lead = parseInt(m[1]!, 16);
    const n = utf8Length(lead);
    const bytes = [lead];
    for (let j = 1; j < n && k + j < pieces.length; j++) {
      const c = BYTE_PIECE.exec(pieces[k + j]!);
      if (!c) break;
      bytes.push(parseInt(c[1]!, 16));
    }
    let text = "\ufffd";
    if (n > 0 && bytes.length === n) {
      try {
        text = decoder.decode(new Uint8Array(bytes));
      } catch {
        text = "\ufffd";
      }
    }
    const used = text === "\ufffd" ? 1 : n;
    out[k] = text;
    k += used;
  }
  return out;
}

export interface DiffToken {
  id: number;
  piece: string;
  text: string;
  /** Not part of the longest common token subsequence of the two continuations. */
  diverges: boolean;
}

export interface ContinuationDiff {
  plain: DiffToken[];
  masked: DiffToken[];
  /** The first position where the two differ (token index), or null when they are identical. */
  firstDivergence: number | null;
  /** Tokens marked as diverging, on each side. */
  diverging: { plain: number; masked: number };
}

/** Marks the tokens of each continuation that the other lacks (longest common subsequence of ids). */
export function diffContinuations(data: CompareData): ContinuationDiff {
  const a = data.plain.ids;
  const b = data.masked.ids;
  const n = a.length;
  const m = b.length;
  // lcs[i][j] = LCS length of a[i:], b[j:]; continuations are short (tens to hundreds of tokens).
  const lcs = Array.from({ length: n + 1 }, () => new Uint32Array(m + 1));
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      lcs[i]![j] = a[i] === b[j] ? lcs[i + 1]![j + 1]! + 1 : Math.max(lcs[i + 1]![j]!, lcs[i]![j + 1]!);
    }
  }
  const keepA = new Array<boolean>(n).fill(false);
  const keepB = new Array<boolean>(m).fill(false);
  for (let i = 0, j = 0; i < n && j < m; ) {
    if (a[i] === b[j]) {
      keepA[i] = true;
      keepB[j] = true;
      i++;
      j++;
    } else if (lcs[i + 1]![j]! >= lcs[i]![j + 1]!) i++;
    else j++;
  }
  let first: number | null = null;
  for (let k = 0; k < Math.max(n, m); k++) {
    if (a[k] !== b[k]) {
      first = k;
      break;
    }
  }
  const side = (ids: readonly number[], pieces: readonly string[], keep: boolean[]): DiffToken[] => {
    const texts = pieceTexts(pieces);
    return ids.map((id, k) => ({ id, piece: pieces[k] ?? "", text: texts[k] ?? "", diverges: !keep[k] }));
  };
  const plain = side(a, data.plain.pieces, keepA);
  const masked = side(b, data.masked.pieces, keepB);
  return {
    plain,
    masked,
    firstDivergence: first,
    diverging: {
      plain: plain.filter((t) => t.diverges).length,
      masked: masked.filter((t) => t.diverges).length,
    },
  };
}
