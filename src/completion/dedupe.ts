// Suggestions must not repeat what the document already has after the cursor: a
// left-to-right model cannot see it, and happily writes the closing bracket, the next line
// or the rest of the function again.
import type { CursorLine } from "./request";

/**
 * `completion` without what repeats the text after the cursor, or undefined when nothing
 * new is left. `textAfter` starts at the cursor.
 */
export function dedupeAgainstSuffix(
  completion: string,
  line: CursorLine,
  textAfter: string,
): string | undefined {
  let text = completion;
  const suffix = line.suffix.trim();
  // The rest of the cursor's line (closers like `)` or `;`): do not write it twice.
  if (suffix !== "") {
    const firstEnd = text.indexOf("\n");
    const firstLine = firstEnd < 0 ? text : text.slice(0, firstEnd);
    const trimmedFirst = firstLine.trimEnd();
    if (suffix.startsWith(trimmedFirst.trim())) return undefined; // it is already there
    if (trimmedFirst.endsWith(suffix)) {
      text =
        trimmedFirst.slice(0, trimmedFirst.length - suffix.length).trimEnd() +
        (firstEnd < 0 ? "" : text.slice(firstEnd));
    }
  }
  // The lines after the cursor's line.
  const nl = textAfter.indexOf("\n");
  const following = nl < 0 ? [] : textAfter.slice(nl + 1).split("\n");
  const next = following.find((l) => l.trim() !== "")?.trim();
  const lines = text.split("\n");
  if (next !== undefined) {
    const firstNonBlank = lines.findIndex((l) => l.trim() !== "");
    if (
      firstNonBlank >= 0 &&
      lines[firstNonBlank]!.trim() === next &&
      (firstNonBlank > 0 || line.atLineStart)
    )
      return undefined;
    const repeat = lines.findIndex((l, i) => i > 0 && l.trim() === next);
    if (repeat > 0) text = lines.slice(0, repeat).join("\n").replace(/\s+$/, "");
  }
  // The whole suggestion is what follows (whitespace aside).
  const squeeze = (s: string) => s.replace(/\s+/g, "");
  const after = squeeze(textAfter.slice(0, text.length * 2 + 64));
  if (squeeze(text) === "" || after.startsWith(squeeze(text))) return undefined;
  return text;
}
