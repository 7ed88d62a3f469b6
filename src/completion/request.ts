// What a completion request knows about the document: the text around the cursor (bounded
// on both sides, so a huge file costs no more than a small one) and the cursor's line.

export interface CompletionRequest {
  /** Identifies the document (its URI); prompt windows are kept per document. */
  docKey: string;
  languageId: string;
  /** Text before the cursor, starting at a line start (or the document start) when possible. */
  textBefore: string;
  /** Offset in the document of textBefore[0] (UTF-16 code units). */
  beforeStart: number;
  /** Text after the cursor (bounded). */
  textAfter: string;
  tabSize: number;
  /** The user asked for it (command or keybinding): no debounce, fewer reasons to stay silent. */
  manual: boolean;
}

export interface CursorLine {
  /** The cursor's line up to the cursor. */
  prefix: string;
  /** The cursor's line after the cursor. */
  suffix: string;
  /** Only indentation before the cursor. */
  atLineStart: boolean;
}

export function cursorLine(req: Pick<CompletionRequest, "textBefore" | "textAfter">): CursorLine {
  const prefix = req.textBefore.slice(req.textBefore.lastIndexOf("\n") + 1);
  const nl = req.textAfter.indexOf("\n");
  const suffix = (nl < 0 ? req.textAfter : req.textAfter.slice(0, nl)).replace(/\r$/, "");
  return { prefix, suffix, atLineStart: prefix.trim() === "" };
}

/**
 * Whether a suggestion can be shown with this text after the cursor on its line: nothing,
 * or only closing brackets, quotes and separators (as after an auto-closed bracket).
 */
export function suffixAllowsCompletion(suffix: string): boolean {
  return /^[\s)\]}>"'`;,:]*$/.test(suffix);
}
