// A source file's language from its extension, as a VS Code language id. Only extensions
// that name one language are listed: `.h` (C, C++ or Objective-C), `.m` (Objective-C or
// MATLAB), `.pl` (Perl or Prolog), `.v` (Verilog or Coq), `.inc`, `.t` and `.d` are
// left out, so an atlas never mixes two languages' files under one name. A corpus that
// wants its headers counted should put them under a C++ extension (`.hpp`, `.hh`).
import { basename, extname } from "node:path";

const BY_EXTENSION: Readonly<Record<string, string>> = {
  ".py": "python",
  ".pyi": "python",
  ".pyw": "python",
  ".c": "c",
  ".cpp": "cpp",
  ".cc": "cpp",
  ".cxx": "cpp",
  ".c++": "cpp",
  ".hpp": "cpp",
  ".hh": "cpp",
  ".hxx": "cpp",
  ".h++": "cpp",
  ".ipp": "cpp",
  ".java": "java",
  ".js": "javascript",
  ".mjs": "javascript",
  ".cjs": "javascript",
  ".jsx": "javascriptreact",
  ".ts": "typescript",
  ".mts": "typescript",
  ".cts": "typescript",
  ".tsx": "typescriptreact",
  ".go": "go",
  ".rs": "rust",
  ".lua": "lua",
  ".php": "php",
  ".rb": "ruby",
  ".rake": "ruby",
  ".gemspec": "ruby",
  ".cs": "csharp",
  ".swift": "swift",
  ".kt": "kotlin",
  ".kts": "kotlin",
  ".scala": "scala",
  ".sh": "shellscript",
  ".bash": "shellscript",
  ".zsh": "shellscript",
  ".hs": "haskell",
  ".jl": "julia",
  ".dart": "dart",
  ".r": "r",
  ".ps1": "powershell",
  ".fs": "fsharp",
  ".fsx": "fsharp",
  ".clj": "clojure",
  ".coffee": "coffeescript",
  ".groovy": "groovy",
  ".sql": "sql",
  ".ex": "elixir",
  ".exs": "elixir",
  ".erl": "erlang",
  ".zig": "zig",
  ".vb": "vb",
};

/** Extensions deliberately not mapped, with why (for messages). */
export const AMBIGUOUS_EXTENSIONS: Readonly<Record<string, string>> = {
  ".h": "C, C++ or Objective-C",
  ".m": "Objective-C or MATLAB",
  ".pl": "Perl or Prolog",
  ".v": "Verilog or Coq",
  ".inc": "PHP, Pascal, C or assembly",
  ".t": "Perl tests or Turing",
  ".d": "D or make dependencies",
};

/** The VS Code language id of `path`, or undefined when its extension is unknown or ambiguous. */
export function languageOfPath(path: string): string | undefined {
  const ext = extname(path).toLowerCase();
  return Object.hasOwn(BY_EXTENSION, ext) ? BY_EXTENSION[ext] : undefined;
}

/** Why `path` has no language: ambiguous extension (with the candidates) or unknown. */
export function whyNoLanguage(path: string): string {
  const ext = extname(path).toLowerCase();
  if (Object.hasOwn(AMBIGUOUS_EXTENSIONS, ext))
    return `ambiguous extension ${ext} (${AMBIGUOUS_EXTENSIONS[ext]})`;
  return ext ? `unknown extension ${ext}` : "no extension";
}

/**
 * Control classes: text that is not a programming language but that a code model sees a
 * lot of (comments, licence headers, documentation). An atlas built with one lets it take
 * part in the specialisation rule, so experts that fire on prose are labelled prose rather
 * than passing for the language whose files carry the most of it (Java's Javadoc and
 * licence headers). Their ids are VS Code language ids too. A control class is never a
 * masking target (see docs/atlas.md, "Control classes").
 */
export const CONTROL_CLASSES: Readonly<Record<string, { extensions: readonly string[]; what: string }>> = {
  plaintext: { extensions: [".txt"], what: "English prose (.txt files)" },
};

/** .txt files that are not prose: build scripts and package lists. */
const NOT_PROSE = /^(cmakelists\.txt|requirements[\w.-]*\.txt|constraints[\w.-]*\.txt)$/i;

/**
 * The class of `path` when the corpus reads the control classes `controls`: a control
 * class id, else the file's language (languageOfPath), else undefined.
 */
export function classOfPath(path: string, controls: readonly string[] = []): string | undefined {
  const ext = extname(path).toLowerCase();
  for (const id of controls) {
    const control = CONTROL_CLASSES[id];
    if (!control)
      throw new Error(`unknown control class "${id}" (known: ${Object.keys(CONTROL_CLASSES).join(", ")})`);
    if (control.extensions.includes(ext) && !NOT_PROSE.test(basename(path))) return id;
  }
  return languageOfPath(path);
}

export function isControlClass(id: string): boolean {
  return Object.hasOwn(CONTROL_CLASSES, id);
}

/** Every language id that some extension maps to, sorted. */
export function knownLanguages(): string[] {
  return [...new Set(Object.values(BY_EXTENSION))].sort();
}
