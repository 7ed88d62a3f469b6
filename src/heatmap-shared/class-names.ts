// How the panel names an atlas class: languages by their display names (VS Code language
// ids stay in tooltips and in the data), the prose control class as "Prose", and the share
// no class owns as "No language".

const NAMES: Readonly<Record<string, string>> = {
  c: "C",
  cpp: "C++",
  csharp: "C#",
  clojure: "Clojure",
  coffeescript: "CoffeeScript",
  dart: "Dart",
  elixir: "Elixir",
  erlang: "Erlang",
  fsharp: "F#",
  go: "Go",
  groovy: "Groovy",
  haskell: "Haskell",
  java: "Java",
  javascript: "JavaScript",
  javascriptreact: "JavaScript React",
  julia: "Julia",
  kotlin: "Kotlin",
  lua: "Lua",
  "objective-c": "Objective-C",
  php: "PHP",
  plaintext: "Prose",
  powershell: "PowerShell",
  python: "Python",
  r: "R",
  ruby: "Ruby",
  rust: "Rust",
  scala: "Scala",
  shellscript: "Shell",
  sql: "SQL",
  swift: "Swift",
  typescript: "TypeScript",
  typescriptreact: "TypeScript React",
  vb: "Visual Basic",
  zig: "Zig",
};

/** The column of the share no class owns. */
export const UNOWNED_ID = "(none)";
export const UNOWNED_NAME = "No language";

/** A class's display name: "C++" for cpp; an unknown id with its first letter capitalised. */
export function className(id: string): string {
  if (id === UNOWNED_ID) return UNOWNED_NAME;
  return NAMES[id] ?? (id ? id[0]!.toUpperCase() + id.slice(1) : id);
}
