// "The current function" when nothing is selected (pure): the innermost function-like
// document symbol around the cursor, or, when the language has no symbol provider, the
// block found from indentation.

/** vscode.SymbolKind values that are code one would route: Method, Constructor, Function. */
export const FUNCTION_SYMBOL_KINDS: ReadonlySet<number> = new Set([5, 8, 11]);

export interface SymbolNode {
  name: string;
  kind: number;
  /** Lines of the symbol's full range (declaration and body), inclusive. */
  startLine: number;
  endLine: number;
  children: readonly SymbolNode[];
}

export interface LineRange {
  /** Inclusive. */
  startLine: number;
  /** Inclusive. */
  endLine: number;
}

/**
 * The innermost (smallest) function-like symbol whose lines contain `line`; symbols may be a tree or a flat
 * list.
 */
export function enclosingFunction(
  symbols: readonly SymbolNode[],
  line: number,
): (LineRange & { name: string }) | undefined {
  let found: (LineRange & { name: string }) | undefined;
  const visit = (nodes: readonly SymbolNode[]) => {
    for (const s of nodes) {
      if (line < s.startLine || line > s.endLine) continue;
      const smaller = !found || s.endLine - s.startLine <= found.endLine - found.startLine;
      if (FUNCTION_SYMBOL_KINDS.has(s.kind) && smaller)
        found = { startLine: s.startLine, endLine: s.endLine, name: s.name };
      visit(s.children);
    }
  };
  visit(symbols);
  return found;
}

/** Leading whitespace width (tabs to the next multiple of tabSize); undefined for a blank line. */
export function indentOf(line: string, tabSize = 4): number | undefined {
  let w = 0;
  for (const ch of line) {
    if (ch === " ") w++;
    else if (ch === "\t") w += tabSize - (w % tabSize);
    else return w;
  }
  return undefined;
}

/**
 * A line that starts a function in common languages (def, function, fn, func, fun, sub, or `name(args) {`).
 */
const FUNCTION_HEADER = new RegExp(
  [
    // a keyword: def, function, fn, …, after modifiers
    String.raw`^\s*(export\s+)?(default\s+)?(pub(\([^)]*\))?\s+)?(async\s+)?(static\s+)?(local\s+)?` +
      String.raw`(def|function\*?|fn|func|fun|sub|proc|procedure|method)\b`,
    // name(args) and an opening brace, arrow or colon, unless a control keyword starts the line
    String.raw`^(?!\s*(if|for|foreach|while|switch|catch|return|else|do|try|with|elif|unless|until|match|when)\b)` +
      String.raw`\s*[\w$<>\[\]*&:,.~\s]*\b[\w$~]+\s*\([^;]*\)\s*(const\s*)?(->\s*[^{]+)?(\{|=>|:)?\s*$`,
  ].join("|"),
);

/**
 * The block around `line` found from indentation: the innermost enclosing block whose
 * header looks like a function, else the outermost enclosing block; from its header (with
 * a signature line above a lone `{`) to its last indented line (with a closing `}`/`end`
 * at the header's indentation). Undefined when the cursor is in no block.
 */
export function indentationBlock(lines: readonly string[], line: number, tabSize = 4): LineRange | undefined {
  if (lines.length === 0) return undefined;
  const indents = lines.map((l) => indentOf(l, tabSize));
  let k = Math.max(0, Math.min(lines.length - 1, line));
  // On a blank line, use the nearest non-blank line above (or below).
  let probe = k;
  while (probe >= 0 && indents[probe] === undefined) probe--;
  if (probe < 0) {
    probe = k;
    while (probe < lines.length && indents[probe] === undefined) probe++;
    if (probe >= lines.length) return undefined;
  }
  k = probe;
  // The line after k that is not blank: a header on the cursor line opens a block.
  const nextIndent = (from: number) => {
    for (let j = from + 1; j < lines.length; j++) if (indents[j] !== undefined) return indents[j]!;
    return -1;
  };
  const headers: number[] = [];
  if (nextIndent(k) > indents[k]!) headers.push(k);
  let level = indents[k]!;
  for (let j = k - 1; j >= 0 && level > 0; j--) {
    const ind = indents[j];
    if (ind === undefined || ind >= level) continue;
    headers.push(j);
    level = ind;
  }
  if (headers.length === 0) return undefined;
  let header = headers.find((h) => FUNCTION_HEADER.test(lines[h]!)) ?? headers[headers.length - 1]!;
  const hIndent = indents[header]!;
  let end = header;
  for (let j = header + 1; j < lines.length; j++) {
    const ind = indents[j];
    if (ind === undefined) continue;
    if (ind > hIndent) end = j;
    else if (ind === hIndent && /^\s*(\}|end\b|\)|\]|fi\b|done\b|esac\b)/.test(lines[j]!)) {
      end = j;
      break;
    } else break;
  }
  // A lone opening brace on its own line: the signature is the line above it.
  if (/^\s*\{\s*$/.test(lines[header]!)) {
    for (let j = header - 1; j >= 0; j--) {
      if (indents[j] === undefined) continue;
      if (indents[j] === hIndent) header = j;
      break;
    }
  }
  return end > header ? { startLine: header, endLine: end } : undefined;
}
