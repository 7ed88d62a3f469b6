// Token spans → document offsets (pure). The routed text is `document.getText(range)` of
// the selection (or function), which keeps the document's line endings, so a span's UTF-16
// offsets plus `document.offsetAt(range.start)` are document offsets that
// `document.positionAt` turns into positions. Two boundaries need care: one that falls
// between the '\r' and '\n' of a CRLF (VS Code has no position there: positionAt would move
// it to the line's end, losing the line break), and one that falls inside a surrogate pair
// (an emoji would be cut in half). Both are moved outwards.

function isHigh(c: number): boolean {
  return c >= 0xd800 && c <= 0xdbff;
}

function isLow(c: number): boolean {
  return c >= 0xdc00 && c <= 0xdfff;
}

/** Whether offset `k` of `text` lies inside a CRLF or a surrogate pair. */
function splits(text: string, k: number): boolean {
  if (k <= 0 || k >= text.length) return false;
  const before = text.charCodeAt(k - 1);
  const after = text.charCodeAt(k);
  return (before === 13 && after === 10) || (isHigh(before) && isLow(after));
}

/** [start, end) within `text`, clamped, with boundaries moved out of CRLFs and surrogate pairs. */
export function snapSpan(text: string, start: number, end: number): [number, number] {
  let s = Math.max(0, Math.min(text.length, Math.floor(start)));
  let e = Math.max(s, Math.min(text.length, Math.floor(end)));
  if (splits(text, s)) s--;
  if (splits(text, e)) e++;
  return [s, e];
}

/**
 * Document offsets [start, end) of tokens [from, to) of a routed text that begins at
 * document offset `base`: from the first token's start to the last token's end.
 */
export function tokenOffsets(
  text: string,
  base: number,
  spans: ReadonlyArray<readonly [number, number]>,
  from: number,
  to: number,
): { start: number; end: number } {
  if (!(from >= 0 && to > from && to <= spans.length))
    throw new RangeError(`tokens [${from}, ${to}) are not within the ${spans.length} routed tokens`);
  const [s, e] = snapSpan(text, spans[from]![0], spans[to - 1]![1]);
  return { start: base + s, end: base + e };
}
