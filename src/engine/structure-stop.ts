// Code-structure stop rules for completions. The engine evaluates them after each token
// (GenerateOptions.shouldStop, in the engine process) and the caller cuts the final text
// with the same function, so both sides agree on where a completion ends.
//
// - "line": the cursor is inside a line: finish that line.
// - "block": the cursor is at the start of a line (only indentation before it): complete a
//   block of lines, ending before a line indented less than the first one (a dedent below
//   the cursor's indentation), before a blank line that follows a complete statement, or
//   before a line that repeats the line above it (small models loop under greedy decoding).

export type StructureRule = { kind: "line" } | { kind: "block"; indent: number; tabSize?: number };

/** Where the completion ends (an index into `text`), or undefined while it may go on. */
export function structureCut(text: string, rule: StructureRule): number | undefined {
  const firstEnd = text.indexOf("\n");
  if (rule.kind === "line") return firstEnd >= 0 ? firstEnd : undefined;
  if (firstEnd < 0) return undefined;
  const tabSize = rule.tabSize ?? 4;
  const first = text.slice(0, firstEnd);
  if (first.trim() === "") return 0; // the model would leave the cursor's line empty
  const base = rule.indent + indentWidth(first, tabSize);
  // Lines compare by indentation width and content (the first line's indentation is partly before the
  // cursor).
  const shape = (line: string, width: number) => `${width}:${line.trim()}`;
  let lastLine = shape(first, base); // the last non-blank line
  let lastEnd = firstEnd; // where it ends
  for (let pos = firstEnd + 1; ; ) {
    const end = text.indexOf("\n", pos);
    const line = end < 0 ? text.slice(pos) : text.slice(pos, end);
    const blank = line.trim() === "";
    // A line's indentation is known as soon as its first non-blank character is.
    if (!blank && indentWidth(line, tabSize) < base) return lastEnd;
    if (end < 0) return undefined;
    if (blank) {
      if (isCompleteStatement(text.slice(0, lastEnd))) return lastEnd;
    } else {
      const current = shape(line, indentWidth(line, tabSize));
      if (current === lastLine) return lastEnd;
      lastLine = current;
      lastEnd = end;
    }
    pos = end + 1;
  }
}

/** Width of the leading whitespace of `line`, tabs advancing to the next tab stop. */
export function indentWidth(line: string, tabSize = 4): number {
  let w = 0;
  for (const ch of line) {
    if (ch === " ") w++;
    else if (ch === "\t") w += tabSize - (w % tabSize);
    else break;
  }
  return w;
}

/** Characters that, ending a line, say the statement goes on (an opener, a separator, `\`, `:`). */
const CONTINUES = new Set(["(", "[", "{", ",", "\\", ":", "=", "&", "|", "."]);

/**
 * Whether `code` ends on a complete statement: brackets opened in it are closed (string
 * literals and line comments ignored, roughly) and its last line does not end on a
 * character that continues the statement.
 */
export function isCompleteStatement(code: string): boolean {
  let depth = 0;
  let quote = "";
  let lastCode = "";
  for (let i = 0; i < code.length; i++) {
    const ch = code[i]!;
    if (ch === "\n") {
      if (quote !== "`") quote = "";
      continue;
    }
    if (quote) {
      if (ch === "\\") i++;
      else if (ch === quote) quote = "";
      lastCode = ch;
      continue;
    }
    if (ch === "#" || (ch === "/" && code[i + 1] === "/")) {
      const prev = i === 0 ? "\n" : code[i - 1]!;
      if (prev === "\n" || prev === " " || prev === "\t") {
        const nl = code.indexOf("\n", i);
        i = (nl < 0 ? code.length : nl) - 1;
        continue;
      }
    }
    if (ch === '"' || ch === "'" || ch === "`") quote = ch;
    else if (ch === "(" || ch === "[" || ch === "{") depth++;
    else if (ch === ")" || ch === "]" || ch === "}") depth--;
    if (ch !== " " && ch !== "\t" && ch !== "\r") lastCode = ch;
  }
  return depth <= 0 && quote !== "`" && !CONTINUES.has(lastCode);
}
