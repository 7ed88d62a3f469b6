import { test } from "node:test";
import assert from "node:assert/strict";
import {
  AMBIGUOUS_EXTENSIONS,
  classOfPath,
  isControlClass,
  knownLanguages,
  languageOfPath,
  whyNoLanguage,
} from "../../src/atlas/languages";

test("extensions map to VS Code language ids", () => {
  const cases: Record<string, string> = {
    "a/b/x.py": "python",
    "x.c": "c",
    "x.cpp": "cpp",
    "x.cc": "cpp",
    "x.hpp": "cpp",
    "X.JAVA": "java",
    "x.js": "javascript",
    "x.mjs": "javascript",
    "x.jsx": "javascriptreact",
    "x.ts": "typescript",
    "x.tsx": "typescriptreact",
    "x.go": "go",
    "x.rs": "rust",
    "x.lua": "lua",
    "x.php": "php",
    "x.rb": "ruby",
    "x.sh": "shellscript",
    "x.cs": "csharp",
  };
  for (const [path, lang] of Object.entries(cases)) assert.equal(languageOfPath(path), lang, path);
});

test("ambiguous and unknown extensions get no language, with a reason", () => {
  for (const ext of Object.keys(AMBIGUOUS_EXTENSIONS))
    assert.equal(languageOfPath(`file${ext}`), undefined, ext);
  assert.equal(languageOfPath("x.h"), undefined);
  assert.match(whyNoLanguage("x.h"), /ambiguous.*C, C\+\+/);
  assert.equal(languageOfPath("README"), undefined);
  assert.equal(whyNoLanguage("README"), "no extension");
  assert.equal(languageOfPath("x.txt"), undefined);
  assert.match(whyNoLanguage("x.txt"), /unknown extension \.txt/);
  assert.equal(languageOfPath("x.toString"), undefined, "no prototype keys");
  assert.equal(languageOfPath("x.constructor"), undefined);
});

test("the corpus languages are all known", () => {
  const known = knownLanguages();
  for (const l of [
    "c",
    "cpp",
    "go",
    "java",
    "javascript",
    "lua",
    "php",
    "python",
    "ruby",
    "rust",
    "typescript",
  ])
    assert.ok(known.includes(l), l);
});

test("control classes: .txt is prose only when the build asks for the class, and build files are not prose", () => {
  assert.equal(classOfPath("man/ls.txt", ["plaintext"]), "plaintext");
  assert.equal(classOfPath("man/ls.txt"), undefined);
  assert.equal(classOfPath("src/a.py", ["plaintext"]), "python");
  assert.equal(classOfPath("CMakeLists.txt", ["plaintext"]), undefined);
  assert.equal(classOfPath("requirements-dev.txt", ["plaintext"]), undefined);
  assert.throws(
    () => classOfPath("a.txt", ["poetry"]),
    /unknown control class "poetry" \(known: plaintext\)/,
  );
  assert.ok(isControlClass("plaintext") && !isControlClass("python"));
  assert.ok(!knownLanguages().includes("plaintext"), "a control class is not a language");
});
