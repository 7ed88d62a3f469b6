// Fuzz: the SentencePiece model reader (SentencePieceTokenizer.fromBuffer: the protobuf wire
// reader, then the vocabulary, normalizer and BPE tables) on thousands of mutated models:
// byte-level damage anywhere (tags, lengths, piece types, scores, the trainer and normalizer
// specs). The base is the demo tokenizer cut to its first 400 pieces (byte fallback and all),
// so each case takes a millisecond. Each is a TokenizerError naming the file, or a tokenizer
// that encodes and decodes text; never another error or a hang.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import {
  parseSentencePieceModel,
  type NormalizerSpec,
  type SentencePieceModel,
} from "../../../src/tokenizer/sentencepiece-model";
import { SentencePieceTokenizer, TokenizerError } from "../../../src/tokenizer/tokenizer";
import { DEMO_MODEL } from "../../helpers/fixtures";
import { applyBytes, byteMutations, clearErrorOrValid, fuzz, runs } from "./mutate";

const NAME = "/fuzz/tokenizer.model";

/** The top-level fields of a ModelProto, keeping the first `pieces` pieces (field 1) and every other field. */
function cutModel(bytes: Uint8Array, pieces: number): Buffer {
  const out: Buffer[] = [];
  let p = 0;
  let kept = 0;
  const varint = () => {
    let v = 0;
    for (let shift = 0; ; shift += 7) {
      const b = bytes[p++]!;
      v += (b & 0x7f) * 2 ** shift;
      if (b < 0x80) return v;
    }
  };
  while (p < bytes.length) {
    const start = p;
    const tag = varint();
    if ((tag & 7) !== 2) throw new Error("the demo tokenizer's top-level fields are all length-delimited");
    const len = varint();
    p += len;
    if (Math.floor(tag / 8) !== 1 || kept++ < pieces) out.push(Buffer.from(bytes.subarray(start, p)));
  }
  return Buffer.concat(out);
}

const BASE = cutModel(readFileSync(join(DEMO_MODEL, "tokenizer.model")), 400);
const TEXT = "def f(x):\n    return x * 2  # ünï 🚀\r\n\t\u0000";

function usable(value: unknown): void {
  const tok = value as SentencePieceTokenizer;
  const enc = tok.encodeWithSpans(TEXT, { addBos: tok.bosId >= 0 });
  assert.equal(enc.ids.length, enc.spans.length);
  tok.decode(enc.ids);
  const stream = tok.createStreamDecoder();
  for (const id of enc.ids) stream.push(id);
  stream.flush();
}

// ---- a small ModelProto writer, for models mutated field by field -------------------------

const varint = (v: number): number[] => {
  const out: number[] = [];
  let x = v < 0 ? 2 ** 64 + v : v; // negative int32 values take 10 bytes, as protobuf writes them
  do {
    const low = x % 128;
    x = Math.floor(x / 128);
    out.push(x > 0 ? low | 0x80 : low);
  } while (x > 0);
  return out;
};
const field = (n: number, wire: number) => varint(n * 8 + wire);
const bytesField = (n: number, b: Uint8Array) => [...field(n, 2), ...varint(b.length), ...b];
const strField = (n: number, s: string) => bytesField(n, Buffer.from(s, "utf8"));
const intField = (n: number, v: number) => [...field(n, 0), ...varint(v)];
const floatField = (n: number, v: number) => {
  const b = Buffer.alloc(4);
  b.writeFloatLE(v);
  return [...field(n, 5), ...b];
};
const MODEL_TYPE = { unigram: 1, bpe: 2, word: 3, char: 4 } as const;

function normalizerBytes(n: NormalizerSpec): Uint8Array {
  return Uint8Array.from([
    ...strField(1, n.name),
    ...bytesField(2, n.precompiledCharsmap),
    ...intField(3, n.addDummyPrefix ? 1 : 0),
    ...intField(4, n.removeExtraWhitespaces ? 1 : 0),
    ...intField(5, n.escapeWhitespaces ? 1 : 0),
  ]);
}

function writeModel(m: SentencePieceModel): Buffer {
  const t = m.trainerSpec;
  const out: number[] = [];
  for (const p of m.pieces)
    out.push(
      ...bytesField(
        1,
        Uint8Array.from([...strField(1, p.piece), ...floatField(2, p.score), ...intField(3, p.type)]),
      ),
    );
  out.push(
    ...bytesField(
      2,
      Uint8Array.from([
        ...intField(3, MODEL_TYPE[t.modelType] ?? 2),
        ...intField(4, t.vocabSize),
        ...intField(24, t.treatWhitespaceAsSuffix ? 1 : 0),
        ...intField(35, t.byteFallback ? 1 : 0),
        ...intField(40, t.unkId),
        ...intField(41, t.bosId),
        ...intField(42, t.eosId),
        ...intField(43, t.padId),
        ...strField(44, t.unkSurface),
        ...strField(45, t.unkPiece),
        ...strField(46, t.bosPiece),
        ...strField(47, t.eosPiece),
        ...strField(48, t.padPiece),
      ]),
    ),
  );
  out.push(...bytesField(3, normalizerBytes(m.normalizerSpec)));
  if (m.denormalizerSpec) out.push(...bytesField(5, normalizerBytes(m.denormalizerSpec)));
  return Buffer.from(out);
}

const BASE_MODEL = parseSentencePieceModel(BASE, NAME);

/** One change to a parsed model: a piece's text, score or type, or a field of a spec. */
const modelMutation = fc.oneof(
  fc.record({
    at: fc.nat(),
    piece: fc.oneof(
      fc.string({ maxLength: 6 }),
      fc.constantFrom("", "<unk>", "<s>", "</s>", "<0x41>", "<0xZZ>", "▁", "▁▁", "\u0000"),
    ),
  }),
  fc.record({
    at: fc.nat(),
    score: fc.oneof(fc.double(), fc.constantFrom(Number.NaN, Infinity, -Infinity, 3.4e38)),
  }),
  fc.record({ at: fc.nat(), type: fc.integer({ min: 0, max: 8 }) }),
  fc.record({ at: fc.nat(), swapWith: fc.nat() }),
  fc.record({
    trainer: fc.constantFrom(
      "modelType",
      "byteFallback",
      "unkPiece",
      "bosPiece",
      "eosPiece",
      "padPiece",
      "unkSurface",
      "treatWhitespaceAsSuffix",
    ),
    value: fc.oneof(
      fc.constantFrom("unigram", "bpe", "char", "", "<s>", "</s>", "<unk>", "<0x41>", "▁"),
      fc.boolean(),
      fc.string({ maxLength: 4 }),
    ),
  }),
  fc.record({
    normalizer: fc.constantFrom(
      "addDummyPrefix",
      "removeExtraWhitespaces",
      "escapeWhitespaces",
      "name",
      "precompiledCharsmap",
      "denormalizer",
    ),
    value: fc.oneof(fc.boolean(), fc.string({ maxLength: 8 }), fc.uint8Array({ maxLength: 64 })),
  }),
);

function applyModel(
  base: SentencePieceModel,
  changes: ReadonlyArray<Record<string, unknown>>,
): SentencePieceModel {
  const m: SentencePieceModel = structuredClone(base);
  for (const c of changes) {
    const i = typeof c.at === "number" ? c.at % m.pieces.length : 0;
    if ("piece" in c) m.pieces[i]!.piece = c.piece as string;
    else if ("score" in c) m.pieces[i]!.score = c.score as number;
    else if ("type" in c) m.pieces[i]!.type = c.type as number;
    else if ("swapWith" in c) {
      const j = (c.swapWith as number) % m.pieces.length;
      [m.pieces[i], m.pieces[j]] = [m.pieces[j]!, m.pieces[i]!];
    } else if ("trainer" in c) {
      const k = c.trainer as keyof typeof m.trainerSpec;
      const want = typeof m.trainerSpec[k];
      if (typeof c.value === want) (m.trainerSpec as unknown as Record<string, unknown>)[k] = c.value;
    } else if ("normalizer" in c) {
      const k = c.normalizer as string;
      if (k === "denormalizer") m.denormalizerSpec = { ...m.normalizerSpec };
      else if (k === "precompiledCharsmap")
        m.normalizerSpec.precompiledCharsmap = c.value instanceof Uint8Array ? c.value : new Uint8Array(0);
      else if (typeof c.value === typeof (m.normalizerSpec as unknown as Record<string, unknown>)[k])
        (m.normalizerSpec as unknown as Record<string, unknown>)[k] = c.value;
    }
  }
  return m;
}

describe("fuzz: SentencePiece model reader", () => {
  it("the cut-down model reads, encodes and decodes", async () => {
    const tok = SentencePieceTokenizer.fromBuffer(BASE, NAME);
    assert.equal(tok.vocabSize, 400);
    assert.equal(await clearErrorOrValid(NAME, [TokenizerError], () => tok, usable), "valid");
  });

  it(`byte-level damage (${runs(2500)} models)`, async (t) => {
    const tally = { valid: 0, refused: 0 };
    await fuzz(
      fc.asyncProperty(byteMutations(), async (m) => {
        const bytes = applyBytes(BASE, m);
        tally[
          await clearErrorOrValid(
            NAME,
            [TokenizerError],
            () => SentencePieceTokenizer.fromBuffer(bytes, NAME),
            usable,
          )
        ]++;
      }),
      runs(2500),
    );
    t.diagnostic(`byte-level: ${tally.valid} valid, ${tally.refused} refused with a clear error`);
  });

  it("the model writer reproduces the cut-down model", () => {
    assert.deepEqual(parseSentencePieceModel(writeModel(BASE_MODEL), NAME).pieces, BASE_MODEL.pieces);
    SentencePieceTokenizer.fromBuffer(writeModel(BASE_MODEL), NAME);
  });

  it(`pieces, scores, types and spec fields changed, well-formed on the wire (${runs(1500)} models)`, async (t) => {
    const tally = { valid: 0, refused: 0 };
    await fuzz(
      fc.asyncProperty(fc.array(modelMutation, { minLength: 1, maxLength: 4 }), async (changes) => {
        const bytes = writeModel(applyModel(BASE_MODEL, changes as Array<Record<string, unknown>>));
        tally[
          await clearErrorOrValid(
            NAME,
            [TokenizerError],
            () => SentencePieceTokenizer.fromBuffer(bytes, NAME),
            usable,
          )
        ]++;
      }),
      runs(1500),
    );
    t.diagnostic(`field-level: ${tally.valid} valid, ${tally.refused} refused with a clear error`);
  });
});
