// The A/B view's data: piece texts (spaces, byte pieces) and the marks of a token diff.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { diffContinuations, pieceTexts } from "../../src/heatmap-shared/continuation";

const cont = (
  pieces: string[],
  ids = pieces.map((p) => [...p].reduce((h, c) => h * 31 + c.charCodeAt(0), 7) % 100_000),
) => ({ text: pieces.join(""), ids, pieces });

describe("A/B continuations", () => {
  it("turns pieces into text: '▁' is a space, byte pieces are UTF-8 characters on their first byte", () => {
    assert.deepEqual(pieceTexts(["▁▁▁▁", "return", "▁n", "<0x0A>"]), ["    ", "return", " n", "\n"]);
    assert.deepEqual(pieceTexts(["<0xF0>", "<0x9F>", "<0x9A>", "<0x80>", "x"]), ["🚀", "", "", "", "x"]);
    assert.deepEqual(
      pieceTexts(["<0xC3>", "<0xA9>", "<0xC3>"]),
      ["é", "", "\ufffd"],
      "a cut-off character is U+FFFD",
    );
    assert.deepEqual(pieceTexts(["<0x80>", "<0xFF>"]), ["\ufffd", "\ufffd"], "stray bytes");
    assert.deepEqual(pieceTexts(["<0xE2>", "a"]), ["\ufffd", "a"]);
  });

  it("marks nothing when the continuations are the same", () => {
    const a = cont(["▁n", "▁=", "▁1"]);
    const d = diffContinuations({ plain: a, masked: a });
    assert.equal(d.firstDivergence, null);
    assert.deepEqual(d.diverging, { plain: 0, masked: 0 });
  });

  it("marks the tokens each side lacks, and the first position where they part", () => {
    const plain = cont(["▁n", "▁=", "▁n", "▁-", "▁1", "<0x0A>"]);
    const masked = cont(["▁n", "▁=", "▁n", "<0x0A>", "▁n"]);
    const d = diffContinuations({ plain, masked });
    assert.equal(d.firstDivergence, 3);
    assert.deepEqual(
      d.plain.map((t) => t.diverges),
      [false, false, false, true, true, false],
    );
    assert.deepEqual(
      d.masked.map((t) => t.diverges),
      [false, false, false, false, true],
    );
    assert.deepEqual(d.diverging, { plain: 2, masked: 1 });
    assert.deepEqual(
      d.masked.map((t) => t.text),
      [" n", " =", " n", "\n", " n"],
    );
  });

  it("handles a prefix and empty continuations", () => {
    const a = cont(["a", "b"]);
    const ab = cont(["a", "b", "c"]);
    const d = diffContinuations({ plain: a, masked: ab });
    assert.equal(d.firstDivergence, 2);
    assert.deepEqual(d.diverging, { plain: 0, masked: 1 });
    const e = diffContinuations({ plain: cont([]), masked: a });
    assert.equal(e.firstDivergence, 0);
    assert.deepEqual(e.diverging, { plain: 0, masked: 2 });
  });
});
