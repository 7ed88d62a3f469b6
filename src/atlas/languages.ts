// A source file's language from its extension, as a VS Code language id. Only extensions
// that name one language are listed: `.h` (C, C++ or Objective-C), `.m` (Objective-C or
// MATLAB), `.pl` (Perl or Prolog), `.v` (Verilog or Coq), `.inc`, `.t` and `.d` are
// left out, so an atlas never mixes two languages' files under one name. A corpus that
// wants its headers counted should put them under a C++ extension (`.hpp`, `.hh`).
import { extname } from "node:path";

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

/** Every language id that some extension maps to, sorted. */
export function knownLanguages(): string[] {
  return [...new Set(Object.values(BY_EXTENSION))].sort();
}
