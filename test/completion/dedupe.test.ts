// Suggestions do not repeat the code that already follows the cursor.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { dedupeAgainstSuffix } from "../../src/completion/dedupe";
import { cursorLine, suffixAllowsCompletion } from "../../src/completion/request";

const dedupe = (before: string, completion: string, after: string) =>
  dedupeAgainstSuffix(completion, cursorLine({ textBefore: before, textAfter: after }), after);

describe("deduplication against the text after the cursor", () => {
  it("drops the closers the line already has", () => {
    assert.equal(dedupe("print(", "x, y)", ")\n"), "x, y");
    assert.equal(dedupe("print(", ")", ")\n"), undefined);
  });

  it("drops a block whose first line is the next line of the file", () => {
    assert.equal(dedupe("def f():\n    ", "return x", "\n    return x\n"), undefined);
  });

  it("cuts a block where it starts repeating the next line", () => {
    assert.equal(
      dedupe("int f() {\n    ", "int y = 2;\n    return y;\n}", "\n}\n"),
      "int y = 2;\n    return y;",
    );
  });

  it("drops a suggestion that is exactly what follows, whitespace aside", () => {
    assert.equal(dedupe("x = ", "compute(a,  b)", "compute(a, b)\n"), undefined);
  });

  it("keeps new text", () => {
    assert.equal(
      dedupe("def f():\n    ", "y = 1\n    return y", "\n\ndef g():\n    pass\n"),
      "y = 1\n    return y",
    );
  });

  it("text after the cursor: only closers and separators allow a suggestion", () => {
    assert.ok(suffixAllowsCompletion(""));
    assert.ok(suffixAllowsCompletion(")];"));
    assert.ok(suffixAllowsCompletion('") '));
    assert.ok(!suffixAllowsCompletion("foo)"));
  });
});
