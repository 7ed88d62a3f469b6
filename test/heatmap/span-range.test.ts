// Token spans → editor ranges: the routed text is document.getText(range) (CRLF kept), its
// spans are UTF-16 offsets into it, and a row's range is base + spans, with boundaries
// moved out of CRLFs and surrogate pairs. Checked against a document with VS Code's offset
// rules and the demo model's real tokenizer on text with CRLF, tabs and emoji.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { snapSpan, tokenOffsets } from "../../src/heatmap/span-range";
import { SentencePieceTokenizer } from "../../src/tokenizer/tokenizer";
import { DEMO_MODEL } from "../helpers/fixtures";

interface Pos {
  line: number;
  character: number;
}

/**
 * A text document with VS Code's offset rules: "\r\n" or "\n" end a line; no position lies inside a line
 * ending.
 */
class Doc {
  private readonly starts: number[] = [0];
  private readonly lengths: number[] = [];
  constructor(readonly text: string) {
    const re = /\r\n|\n/g;
    let last = 0;
    for (let m = re.exec(text); m; m = re.exec(text)) {
      this.lengths.push(m.index - last);
      last = m.index + m[0].length;
      this.starts.push(last);
    }
    this.lengths.push(text.length - last);
  }
  positionAt(offset: number): Pos {
    const o = Math.max(0, Math.min(this.text.length, offset));
    let line = this.starts.length - 1;
    while (this.starts[line]! > o) line--;
    return { line, character: Math.min(o - this.starts[line]!, this.lengths[line]!) };
  }
  offsetAt(p: Pos): number {
    return this.starts[p.line]! + Math.min(p.character, this.lengths[p.line]!);
  }
  getText(start: Pos, end: Pos): string {
    return this.text.slice(this.offsetAt(start), this.offsetAt(end));
  }
}

describe("token spans to editor ranges", () => {
  it("moves boundaries out of CRLFs and surrogate pairs, and clamps", () => {
    const t = "a\r\nb🚀c";
    assert.deepEqual(snapSpan(t, 0, 2), [0, 3], "an end between \\r and \\n takes the \\n");
    assert.deepEqual(snapSpan(t, 2, 4), [1, 4], "a start between \\r and \\n takes the \\r");
    assert.deepEqual(snapSpan(t, 4, 5), [4, 6], "an end inside the emoji takes all of it");
    assert.deepEqual(snapSpan(t, 5, 7), [4, 7], "a start inside the emoji takes all of it");
    assert.deepEqual(snapSpan(t, 6, 6), [6, 6], "an empty span at the emoji's end stays");
    assert.deepEqual(snapSpan(t, -3, 99), [0, t.length]);
    assert.deepEqual(snapSpan(t, 5, 2), [4, 6], "end before start: empty at start, snapped out");
  });

  it("maps rows of tokens to document offsets from the selection's start", () => {
    const spans: Array<[number, number]> = [
      [0, 3],
      [3, 4],
      [4, 9],
    ];
    assert.deepEqual(tokenOffsets("def f(x)!", 100, spans, 0, 1), { start: 100, end: 103 });
    assert.deepEqual(tokenOffsets("def f(x)!", 100, spans, 1, 3), { start: 103, end: 109 });
    assert.throws(() => tokenOffsets("def f(x)!", 0, spans, 2, 4), RangeError);
    assert.throws(() => tokenOffsets("def f(x)!", 0, spans, 1, 1), RangeError);
  });

  it("selects exactly each token's text in a CRLF document with tabs and emoji (demo tokenizer)", () => {
    const tokenizer = SentencePieceTokenizer.fromFile(join(DEMO_MODEL, "tokenizer.model"));
    const doc = new Doc(
      "# header\r\ndef rocket(x):\r\n\treturn x + '🚀🚀'  # ünïcödé\r\n\r\n\tpass\r\nend\r\n",
    );
    // The selection starts inside line 1 and ends inside the last line but one.
    const start: Pos = { line: 1, character: 4 };
    const end: Pos = { line: 5, character: 2 };
    const text = doc.getText(start, end);
    const base = doc.offsetAt(start);
    assert.ok(text.includes("\r\n") && text.includes("\t") && text.includes("🚀"));
    const enc = tokenizer.encodeWithSpans(text);
    const spans = enc.spans.slice(1); // BOS is not in the route data
    let crlfSplits = 0;
    let emptyBytes = 0;
    for (let k = 0; k < spans.length; k++) {
      const [s, e] = spans[k]!;
      const { start: a, end: b } = tokenOffsets(text, base, spans, k, k + 1);
      const from = doc.positionAt(a);
      const to = doc.positionAt(b);
      assert.equal(doc.offsetAt(from), a, `token ${k}: its start is a real position`);
      assert.equal(doc.offsetAt(to), b, `token ${k}: its end is a real position`);
      const selected = doc.getText(from, to);
      const own = text.slice(s, e);
      if (selected === own) continue;
      // Snapped outwards: the selection holds the token's text and at most a line break or half an emoji
      // more.
      assert.ok(
        selected.includes(own),
        `token ${k} ${JSON.stringify(own)} within ${JSON.stringify(selected)}`,
      );
      assert.ok(selected.length - own.length <= 2);
      if (own.includes("\r") || own.includes("\n") || selected.includes("\r\n")) crlfSplits++;
      else emptyBytes++;
    }
    assert.ok(
      crlfSplits >= 4,
      `the tokenizer splits "\r" from "\n" and the selections take both (${crlfSplits})`,
    );
    assert.equal(emptyBytes, 0, "an emoji's byte pieces never select half a character");
    assert.ok(
      spans.some(([s, e]) => s === e),
      "the emoji's later byte pieces have empty spans",
    );
    // A row of every token selects the whole routed text.
    const all = tokenOffsets(text, base, spans, 0, spans.length);
    assert.equal(
      doc.getText(doc.positionAt(all.start), doc.positionAt(all.end)).trimStart(),
      text.trimStart(),
    );
  });
});
