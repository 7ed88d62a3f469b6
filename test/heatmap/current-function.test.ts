// "The current function" when nothing is selected: from document symbols, else from indentation.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  enclosingFunction,
  indentationBlock,
  indentOf,
  type SymbolNode,
} from "../../src/heatmap/current-function";

const sym = (
  name: string,
  kind: number,
  startLine: number,
  endLine: number,
  children: SymbolNode[] = [],
): SymbolNode => ({ name, kind, startLine, endLine, children });

describe("current function", () => {
  it("picks the innermost function-like symbol around the cursor, from a tree or a flat list", () => {
    const tree = [
      sym("Parser", 4, 0, 30, [
        sym("parse", 5, 2, 20, [sym("helper", 11, 5, 9), sym("x", 12, 10, 10)]),
        sym("constructor", 8, 22, 28),
      ]),
      sym("main", 11, 32, 40),
    ];
    assert.deepEqual(enclosingFunction(tree, 6), { startLine: 5, endLine: 9, name: "helper" });
    assert.deepEqual(
      enclosingFunction(tree, 10),
      { startLine: 2, endLine: 20, name: "parse" },
      "a variable is not a function",
    );
    assert.deepEqual(enclosingFunction(tree, 25), { startLine: 22, endLine: 28, name: "constructor" });
    assert.equal(enclosingFunction(tree, 21), undefined, "inside the class, outside its methods");
    assert.equal(enclosingFunction(tree, 31), undefined);
    const flat = [sym("Parser", 4, 0, 30), sym("parse", 5, 2, 20), sym("helper", 11, 5, 9)];
    assert.equal(enclosingFunction(flat, 7)?.name, "helper");
  });

  it("measures indentation with tabs to the next stop; blank lines have none", () => {
    assert.equal(indentOf("    x"), 4);
    assert.equal(indentOf("\tx"), 4);
    assert.equal(indentOf("  \tx"), 4);
    assert.equal(indentOf("\t  x", 2), 4);
    assert.equal(indentOf("   "), undefined);
    assert.equal(indentOf(""), undefined);
  });

  it("finds a Python method (the innermost def) and stops at the dedent", () => {
    const py = [
      "class A:",
      "    def f(self):",
      "        x = 1",
      "",
      "        if x:",
      "            return 2",
      "    def g(self):",
      "        pass",
      "y = 3",
    ];
    assert.deepEqual(indentationBlock(py, 5), { startLine: 1, endLine: 5 });
    assert.deepEqual(
      indentationBlock(py, 3),
      { startLine: 1, endLine: 5 },
      "a blank line inside belongs to the function",
    );
    assert.deepEqual(indentationBlock(py, 1), { startLine: 1, endLine: 5 }, "the cursor on the def line");
    assert.deepEqual(indentationBlock(py, 7), { startLine: 6, endLine: 7 });
    assert.equal(indentationBlock(py, 8), undefined, "top-level code is in no block");
  });

  it("finds brace and end blocks, with the signature above a lone brace", () => {
    const js = [
      "const a = 1;",
      "function add(a, b) {",
      "  if (a) {",
      "    return a + b;",
      "  }",
      "  return b;",
      "}",
      "",
    ];
    assert.deepEqual(indentationBlock(js, 3), { startLine: 1, endLine: 6 });
    const c = ["static int", "square(int x)", "{", "    return x * x;", "}"];
    assert.deepEqual(indentationBlock(c, 3), { startLine: 1, endLine: 4 });
    const lua = ["local function f(x)", "  local y = x", "  return y", "end", "print(f(1))"];
    assert.deepEqual(indentationBlock(lua, 2), { startLine: 0, endLine: 3 });
    const tabs = ["fn main() {", "\tlet x = 1;", '\tprintln!("{}", x);', "}"];
    assert.deepEqual(indentationBlock(tabs, 2), { startLine: 0, endLine: 3 });
  });

  it("without a function-like header, takes the outermost enclosing block", () => {
    const yaml = ["steps:", "  - run: a", "    with:", "      x: 1"];
    assert.deepEqual(indentationBlock(yaml, 3), { startLine: 0, endLine: 3 });
    assert.equal(indentationBlock([], 0), undefined);
    assert.equal(indentationBlock(["", "  "], 1), undefined);
  });
});
