import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SentencePieceTokenizer } from "../../src/tokenizer/tokenizer";
import { contentHash } from "../../src/atlas/corpus";
import { samplePieces } from "../../src/atlas/sampling";
import { segmentText } from "../../src/atlas/segments";
import { DEMO_MODEL } from "../helpers/fixtures";

const tok = SentencePieceTokenizer.fromFile(join(DEMO_MODEL, "tokenizer.model"));
const lines = (tag: string, n: number) =>
  Array.from({ length: n }, (_, k) => `local ${tag}${k} = ${k} * 2\n`).join("");

test("segments cover the text exactly, stay within the limit and cut at line starts", () => {
  const text = lines("x", 60);
  const parts = segmentText(tok, text, 64);
  assert.equal(parts.join(""), text);
  assert.ok(parts.length > 3);
  for (const p of parts.slice(0, -1)) {
    assert.ok(
      tok.encode(p, { addBos: false }).length <= 64 + 2,
      `${tok.encode(p, { addBos: false }).length} tokens`,
    );
    assert.ok(p.endsWith("\n"), "cut at a line start");
  }
  assert.deepEqual(segmentText(tok, "", 64), []);
});

test("pieces are taken round-robin over files, within the budget, and only used files count as seen", () => {
  const dir = mkdtempSync(join(tmpdir(), "atlas-sampling-"));
  try {
    const texts = { a: lines("a", 80), b: lines("b", 80), c: lines("c", 3), d: lines("d", 80) };
    const files = Object.entries(texts).map(([name, text]) => {
      writeFileSync(join(dir, `${name}.lua`), text);
      return { path: join(dir, `${name}.lua`), rel: `${name}.lua`, language: "lua", bytes: text.length };
    });
    const s = samplePieces(tok, files, 64, 200);
    assert.ok(s.tokens <= 200 + 2 && s.tokens >= 190, `${s.tokens} tokens`);
    assert.equal(
      s.tokens,
      s.pieces.reduce((n, p) => n + p.tokens, 0),
    );
    // Round 0 takes a piece of every file before any file gives a second one.
    assert.match(s.pieces[0]!.text, /local a0 /);
    assert.match(s.pieces[1]!.text, /local b0 /);
    assert.equal(s.pieces[2]!.text, texts.c);
    assert.match(s.pieces[3]!.text, /local d0 /);
    assert.deepEqual(
      s.used.map((u) => u.file.rel),
      ["a.lua", "b.lua", "c.lua", "d.lua"],
    );
    // A small budget stops in the first round: later files are not read, hence not seen.
    const small = samplePieces(tok, files, 64, 70);
    assert.deepEqual(
      small.used.map((u) => u.file.rel),
      ["a.lua", "b.lua"],
    );
    // Skipped content is neither used nor sampled.
    const skip = samplePieces(tok, files, 64, 1000, (h) => h === contentHash(Buffer.from(texts.b)));
    assert.ok(!skip.used.some((u) => u.file.rel === "b.lua"));
    assert.ok(!skip.pieces.some((p) => p.text.includes("local b")));
    // A budget larger than the files takes everything once.
    const all = samplePieces(tok, files, 64, 1e9);
    assert.equal(
      all.pieces
        .map((p) => p.text)
        .sort()
        .join(""),
      Object.values(texts)
        .flatMap((t) => segmentText(tok, t, 64))
        .sort()
        .join(""),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
