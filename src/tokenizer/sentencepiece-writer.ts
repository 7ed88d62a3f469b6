// Writes a SentencePiece `tokenizer.model` (a serialized `sentencepiece.ModelProto`) from the
// same structures sentencepiece-model.ts reads: the pieces, the TrainerSpec fields that matter
// for encoding and decoding, and the normalizer. Used by `monet-lens synth` to give a random
// checkpoint a tokenizer whose vocabulary matches its embedding rows.
import {
  PieceType,
  type ModelPiece,
  type NormalizerSpec,
  type SentencePieceModel,
  type TrainerSpec,
} from "./sentencepiece-model";

const MODEL_TYPE_NUMBER: Record<TrainerSpec["modelType"], number> = { unigram: 1, bpe: 2, word: 3, char: 4 };

/** Protobuf wire format, the few encodings a ModelProto needs. */
class WireWriter {
  private readonly parts: Uint8Array[] = [];
  private length = 0;

  private push(bytes: Uint8Array): void {
    this.parts.push(bytes);
    this.length += bytes.length;
  }

  private varint(v: bigint): void {
    const out: number[] = [];
    let x = BigInt.asUintN(64, v); // negative int32 values take 10 bytes, as protobuf writes them
    do {
      const low = Number(x & 0x7fn);
      x >>= 7n;
      out.push(x > 0n ? low | 0x80 : low);
    } while (x > 0n);
    this.push(Uint8Array.from(out));
  }

  private tag(field: number, wireType: number): void {
    this.varint(BigInt(field * 8 + wireType));
  }

  int(field: number, v: number): this {
    this.tag(field, 0);
    this.varint(BigInt(v));
    return this;
  }

  bool(field: number, v: boolean): this {
    return this.int(field, v ? 1 : 0);
  }

  float(field: number, v: number): this {
    this.tag(field, 5);
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, v, true);
    this.push(b);
    return this;
  }

  bytes(field: number, v: Uint8Array): this {
    this.tag(field, 2);
    this.varint(BigInt(v.length));
    this.push(v);
    return this;
  }

  string(field: number, v: string): this {
    return this.bytes(field, new TextEncoder().encode(v));
  }

  message(field: number, w: WireWriter): this {
    return this.bytes(field, w.finish());
  }

  finish(): Uint8Array {
    const out = new Uint8Array(this.length);
    let off = 0;
    for (const p of this.parts) {
      out.set(p, off);
      off += p.length;
    }
    return out;
  }
}

function piece(p: ModelPiece): WireWriter {
  const w = new WireWriter().string(1, p.piece).float(2, p.score);
  return p.type === PieceType.Normal ? w : w.int(3, p.type); // NORMAL is the proto default
}

// Field numbers from sentencepiece_model.proto (message TrainerSpec / NormalizerSpec).
function trainerSpec(t: TrainerSpec): WireWriter {
  return new WireWriter()
    .int(3, MODEL_TYPE_NUMBER[t.modelType])
    .int(4, t.vocabSize)
    .bool(22, t.splitByWhitespace)
    .bool(24, t.treatWhitespaceAsSuffix)
    .bool(25, t.splitDigits)
    .bool(26, t.allowWhitespaceOnlyPieces)
    .bool(35, t.byteFallback)
    .int(40, t.unkId)
    .int(41, t.bosId)
    .int(42, t.eosId)
    .int(43, t.padId)
    .string(44, t.unkSurface)
    .string(45, t.unkPiece)
    .string(46, t.bosPiece)
    .string(47, t.eosPiece)
    .string(48, t.padPiece);
}

function normalizerSpec(n: NormalizerSpec): WireWriter {
  return new WireWriter()
    .string(1, n.name)
    .bytes(2, n.precompiledCharsmap)
    .bool(3, n.addDummyPrefix)
    .bool(4, n.removeExtraWhitespaces)
    .bool(5, n.escapeWhitespaces);
}

/** The bytes of a `tokenizer.model` holding `model`. */
export function writeSentencePieceModel(model: SentencePieceModel): Uint8Array {
  const w = new WireWriter();
  for (const p of model.pieces) w.message(1, piece(p));
  w.message(2, trainerSpec(model.trainerSpec));
  w.message(3, normalizerSpec(model.normalizerSpec));
  if (model.denormalizerSpec) w.message(5, normalizerSpec(model.denormalizerSpec));
  return w.finish();
}

/**
 * `base` grown to `vocabSize` pieces: its normalizer, special and byte-fallback pieces and
 * pieces, then generated NORMAL pieces (`▁⟨synth N⟩`, which no text merges into) scored below
 * every piece of `base`, so BPE encodes text exactly as `base` does.
 */
export function padSentencePieceModel(base: SentencePieceModel, vocabSize: number): SentencePieceModel {
  if (vocabSize < base.pieces.length)
    throw new RangeError(`cannot shrink a ${base.pieces.length}-piece tokenizer to ${vocabSize} pieces`);
  const lowest = Math.min(...base.pieces.filter((p) => p.type === PieceType.Normal).map((p) => p.score));
  const seen = new Set(base.pieces.map((p) => p.piece));
  const extra: ModelPiece[] = [];
  for (let i = 0; extra.length < vocabSize - base.pieces.length; i++) {
    const text = `\u2581\u27e8synth ${i}\u27e9`;
    if (seen.has(text)) continue;
    extra.push({ piece: text, score: lowest - 1 - extra.length, type: PieceType.Normal });
  }
  return {
    ...base,
    pieces: [...base.pieces, ...extra],
    trainerSpec: { ...base.trainerSpec, vocabSize },
  };
}
