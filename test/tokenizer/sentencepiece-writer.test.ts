// The SentencePiece model writer: a demo model written back reads the same, and the demo
// grown to 32,000 pieces (what `monet-lens synth` ships) encodes as the demo does, in our
// tokenizer and in sentencepiece itself (Debian's python3-sentencepiece, test-only).
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { parseSentencePieceModel } from "../../src/tokenizer/sentencepiece-model";
import { padSentencePieceModel, writeSentencePieceModel } from "../../src/tokenizer/sentencepiece-writer";
import { synthTokenizerBytes } from "../../src/tokenizer/synth-tokenizer";
import { SentencePieceTokenizer } from "../../src/tokenizer/tokenizer";
import { DEMO_MODEL, FIXTURES } from "../helpers/fixtures";

const DEMO_TOKENIZER = join(DEMO_MODEL, "tokenizer.model");
const tmp = mkdtempSync(join(tmpdir(), "monet-spm-writer-"));
after(() => rmSync(tmp, { recursive: true, force: true }));

const cases = (
  JSON.parse(readFileSync(join(FIXTURES, "tokenizer-cases.json"), "utf8")) as {
    encode: Array<{ text: string; ids: number[] }>;
  }
).encode;

describe("SentencePiece model writer", () => {
  it("writes the demo model back to a model that reads the same", () => {
    const bytes = readFileSync(DEMO_TOKENIZER);
    const model = parseSentencePieceModel(new Uint8Array(bytes), "demo");
    const again = parseSentencePieceModel(writeSentencePieceModel(model), "written");
    assert.deepEqual(again.pieces, model.pieces);
    assert.deepEqual(again.trainerSpec, model.trainerSpec);
    assert.deepEqual(again.normalizerSpec, model.normalizerSpec);
  });

  it("grows the demo to 32,000 pieces: byte fallback and pieces kept, encodes unchanged", () => {
    const bytes = synthTokenizerBytes(DEMO_TOKENIZER, 32000);
    const model = parseSentencePieceModel(bytes, "synth");
    const demo = parseSentencePieceModel(new Uint8Array(readFileSync(DEMO_TOKENIZER)), "demo");
    assert.equal(model.pieces.length, 32000);
    assert.equal(model.trainerSpec.vocabSize, 32000);
    assert.equal(model.trainerSpec.modelType, "bpe");
    assert.equal(model.trainerSpec.byteFallback, true);
    assert.deepEqual(model.pieces.slice(0, demo.pieces.length), demo.pieces);
    assert.equal(new Set(model.pieces.map((p) => p.piece)).size, 32000, "pieces are unique");
    assert.deepEqual(model.normalizerSpec, demo.normalizerSpec);
    const tok = SentencePieceTokenizer.fromBuffer(bytes, "synth");
    assert.equal(tok.vocabSize, 32000);
    for (const c of cases) assert.deepEqual(tok.encode(c.text), c.ids, JSON.stringify(c.text));
    assert.throws(() => padSentencePieceModel(demo, 100), /cannot shrink/);
  });

  it("sentencepiece (python3-sentencepiece) loads the 32,000-piece model and agrees on encodes", (t) => {
    const probe = spawnSync("/usr/bin/python3", ["-c", "import sentencepiece"], { encoding: "utf8" });
    if (probe.status !== 0)
      return t.skip(
        "needs Debian's python3-sentencepiece (apt-get install -y python3-sentencepiece): not installed",
      );
    const file = join(tmp, "synth.model");
    writeFileSync(file, synthTokenizerBytes(DEMO_TOKENIZER, 32000));
    const texts = [
      ...cases.slice(0, 12).map((c) => c.text),
      "def fibonacci(n):\n    return n if n < 2 else fibonacci(n - 1) + fibonacci(n - 2)\n",
      "naïve café ☕ 東京 \u27e8synth 5\u27e9",
    ];
    const script = `import json, sys, sentencepiece as spm
sp = spm.SentencePieceProcessor(model_file=sys.argv[1])
texts = json.loads(sys.stdin.read())
print(json.dumps({"size": sp.get_piece_size(), "ids": [sp.encode(t) for t in texts], "piece": sp.id_to_piece(31999)}))`;
    const r = spawnSync("/usr/bin/python3", ["-c", script, file], {
      input: JSON.stringify(texts),
      encoding: "utf8",
    });
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { size: number; ids: number[][]; piece: string };
    assert.equal(out.size, 32000);
    const tok = SentencePieceTokenizer.fromFile(file);
    assert.equal(out.piece, "\u2581\u27e8synth 23807\u27e9");
    for (const [i, text] of texts.entries())
      assert.deepEqual(tok.encode(text, { addBos: false }), out.ids[i], JSON.stringify(text));
  });
});
