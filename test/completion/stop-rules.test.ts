// Structure stop rules (shared by the engine process and the controller) and the final cut.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { indentWidth, isCompleteStatement, structureCut } from "../../src/engine/structure-stop";
import { finishCompletion, structureRuleFor } from "../../src/completion/stop-rules";
import { cursorLine } from "../../src/completion/request";

const block = (indent: number) => ({ kind: "block", indent, tabSize: 4 }) as const;

describe("structure rules", () => {
  it("mid-line: finishes the line", () => {
    const rule = structureRuleFor(cursorLine({ textBefore: "x = foo(", textAfter: ")\n" }), 4);
    assert.deepEqual(rule, { kind: "line" });
    assert.equal(structureCut("a, b)", rule), undefined);
    assert.equal(structureCut("a, b)\n    y = 2", rule), 5);
  });

  it("at a line start: a block at the cursor's indentation", () => {
    assert.deepEqual(
      structureRuleFor(cursorLine({ textBefore: "def f():\n    ", textAfter: "" }), 4),
      block(4),
    );
    assert.deepEqual(
      structureRuleFor(cursorLine({ textBefore: "def f():\n\t", textAfter: "" }), 4),
      block(4),
    );
  });

  it("stops before a dedent below the cursor's indentation, as soon as the dedented line shows", () => {
    const text = "x = 1\n    return x\ndef g():\n    pass\n";
    assert.equal(structureCut("x = 1\n    return x\n", block(4)), undefined);
    assert.equal(structureCut("x = 1\n    return x\nd", block(4)), "x = 1\n    return x".length);
    assert.equal(structureCut(text, block(4)), "x = 1\n    return x".length);
    // Deeper lines belong to the block.
    assert.equal(structureCut("if x:\n        y()\n    z()\n", block(4)), undefined);
    // C-like: the closing brace is a dedent.
    assert.equal(structureCut("x++;\n    return x;\n}\n", block(4)), "x++;\n    return x;".length);
  });

  it("the first line's own indentation counts (cursor at column 0, model indents)", () => {
    assert.equal(structureCut("    return 1\ndef g", block(0)), "    return 1".length);
  });

  it("stops at a blank line after a complete statement, not inside one", () => {
    assert.equal(structureCut("x = 1\n    y = 2\n\n", block(4)), "x = 1\n    y = 2".length);
    assert.equal(structureCut("x = f(\n        1,\n\n        2)\n", block(4)), undefined);
    assert.equal(structureCut("if x:\n\n        y\n", block(4)), undefined);
    assert.equal(structureCut("\n", block(4)), 0);
  });

  it("stops when a line repeats the line above it", () => {
    assert.equal(structureCut("n = n - 1\n    n = n - 1\n    n = n - 1\n", block(4)), "n = n - 1".length);
    assert.equal(structureCut("a()\n    b()\n    b()\n", block(4)), "a()\n    b()".length);
    // The same text at another depth is not a repetition.
    assert.equal(structureCut("if x:\n        y()\n    y()\n", block(4)), undefined);
  });

  it("complete statements: brackets, strings and comments", () => {
    assert.ok(isCompleteStatement("x = f(a, b)"));
    assert.ok(!isCompleteStatement("x = f(a,"));
    assert.ok(!isCompleteStatement("if x:"));
    assert.ok(isCompleteStatement("s = '('  # (unbalanced in a comment"));
    assert.ok(!isCompleteStatement("x = ["));
    assert.ok(!isCompleteStatement("int f() {"));
    assert.ok(isCompleteStatement("int f() { return 1; }"));
  });

  it("indent widths with tabs", () => {
    assert.equal(indentWidth("\t  x", 4), 6);
    assert.equal(indentWidth("  \tx", 4), 4);
    assert.equal(indentWidth("x"), 0);
  });

  it("the final cut: structure, whole lines after a budget stop, trailing space", () => {
    assert.equal(finishCompletion("a, b)  \nmore", "structure", { kind: "line" }), "a, b)");
    assert.equal(
      finishCompletion("x = 1\n    y = 2\n    z = f(", "max-tokens", block(4)),
      "x = 1\n    y = 2",
    );
    assert.equal(
      finishCompletion("x = 1\n    y = 2\n    z = 3", "eos", block(4)),
      "x = 1\n    y = 2\n    z = 3",
    );
    assert.equal(finishCompletion("   \n", "structure", block(4)), "");
  });
});
