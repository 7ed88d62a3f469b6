// Parses a SentencePiece `tokenizer.model`: a serialized `sentencepiece.ModelProto`
// (sentencepiece_model.proto). Only the fields the encoder and decoder need are read; the
// rest are skipped. A tiny protobuf wire-format reader lives here so no dependency is needed.
import { TokenizerError } from "./errors";

/** `SentencePiece.Type` in sentencepiece_model.proto. */
export enum PieceType {
  Normal = 1,
  Unknown = 2,
  Control = 3,
  UserDefined = 4,
  Unused = 5,
  Byte = 6,
}

export interface ModelPiece {
  piece: string;
  score: number;
  type: PieceType;
}

/** `TrainerSpec.ModelType`. */
export type ModelType = "unigram" | "bpe" | "word" | "char";

/** The parts of `TrainerSpec` that matter when encoding and decoding (with proto defaults). */
export interface TrainerSpec {
  modelType: ModelType;
  vocabSize: number;
  byteFallback: boolean;
  unkId: number;
  bosId: number;
  eosId: number;
  padId: number;
  unkPiece: string;
  bosPiece: string;
  eosPiece: string;
  padPiece: string;
  /** What DecodeIds prints for `<unk>`; sentencepiece's default is " ⁇ ". */
  unkSurface: string;
  treatWhitespaceAsSuffix: boolean;
  /** Training-time constraints, kept for information: BPE encoding never consults them. */
  splitDigits: boolean;
  splitByWhitespace: boolean;
  allowWhitespaceOnlyPieces: boolean;
}

/** `NormalizerSpec` (also used for the optional denormalizer). */
export interface NormalizerSpec {
  name: string;
  /** Darts double-array trie + normalized strings; empty for the identity normalizer. */
  precompiledCharsmap: Uint8Array;
  addDummyPrefix: boolean;
  removeExtraWhitespaces: boolean;
  escapeWhitespaces: boolean;
}

export interface SentencePieceModel {
  pieces: ModelPiece[];
  trainerSpec: TrainerSpec;
  normalizerSpec: NormalizerSpec;
  denormalizerSpec: NormalizerSpec | undefined;
}

const MODEL_TYPES: Record<number, ModelType> = { 1: "unigram", 2: "bpe", 3: "word", 4: "char" };

const WIRE_VARINT = 0;
const WIRE_FIXED64 = 1;
const WIRE_LENGTH_DELIMITED = 2;
const WIRE_FIXED32 = 5;

/** Thrown by the wire reader; the caller turns it into a TokenizerError naming the file. */
class WireFormatError extends Error {}

// `ignoreBOM` keeps a leading U+FEFF in a piece: by default TextDecoder silently drops it.
const utf8Decoder = new TextDecoder("utf-8", { ignoreBOM: true });

/** Reads protobuf wire format from `bytes[pos, end)`. */
class WireReader {
  /** Low 32 bits of the last varint read: exact even for 10-byte negative int32 values. */
  private lastLow32 = 0;

  constructor(
    private readonly bytes: Uint8Array,
    private pos = 0,
    private readonly end = bytes.length,
  ) {}

  get done(): boolean {
    return this.pos >= this.end;
  }

  /** Unsigned varint; exact up to 2^53, which covers every length and enum in a model. */
  readVarint(): number {
    let value = 0;
    let low32 = 0;
    for (let shift = 0; shift < 70; shift += 7) {
      if (this.pos >= this.end) throw new WireFormatError("truncated varint");
      const byte = this.bytes[this.pos++];
      value += (byte & 0x7f) * 2 ** shift;
      if (shift < 32) low32 = (low32 | ((byte & 0x7f) << shift)) >>> 0;
      if ((byte & 0x80) === 0) {
        this.lastLow32 = low32;
        return value;
      }
    }
    throw new WireFormatError("varint longer than 10 bytes");
  }

  readInt32(): number {
    this.readVarint();
    return this.lastLow32 | 0;
  }

  readBool(): boolean {
    return this.readVarint() !== 0;
  }

  readFloat(): number {
    if (this.pos + 4 > this.end) throw new WireFormatError("truncated float");
    const view = new DataView(this.bytes.buffer, this.bytes.byteOffset + this.pos, 4);
    this.pos += 4;
    return view.getFloat32(0, true);
  }

  readBytes(): Uint8Array {
    const length = this.readVarint();
    if (length > this.end - this.pos) throw new WireFormatError("length-delimited field runs past its end");
    const out = this.bytes.subarray(this.pos, this.pos + length);
    this.pos += length;
    return out;
  }

  readString(): string {
    return utf8Decoder.decode(this.readBytes());
  }

  readMessage(): WireReader {
    const bytes = this.readBytes();
    return new WireReader(bytes);
  }

  readTag(): { field: number; wireType: number } {
    const tag = this.readVarint();
    const field = Math.floor(tag / 8);
    if (field === 0) throw new WireFormatError("field number 0");
    return { field, wireType: tag & 7 };
  }

  skip(wireType: number): void {
    switch (wireType) {
      case WIRE_VARINT:
        this.readVarint();
        return;
      case WIRE_FIXED64:
        this.advance(8);
        return;
      case WIRE_LENGTH_DELIMITED:
        this.readBytes();
        return;
      case WIRE_FIXED32:
        this.advance(4);
        return;
      default:
        throw new WireFormatError(`unsupported wire type ${wireType}`);
    }
  }

  /** Throws unless the field just tagged has the wire type its schema declares. */
  expect(wireType: number, expected: number, what: string): void {
    if (wireType !== expected)
      throw new WireFormatError(`${what} has wire type ${wireType}, expected ${expected}`);
  }

  private advance(n: number): void {
    if (this.pos + n > this.end) throw new WireFormatError("truncated fixed-width field");
    this.pos += n;
  }
}

function parsePiece(reader: WireReader): ModelPiece {
  const out: ModelPiece = { piece: "", score: 0, type: PieceType.Normal };
  while (!reader.done) {
    const { field, wireType } = reader.readTag();
    if (field === 1) {
      reader.expect(wireType, WIRE_LENGTH_DELIMITED, "SentencePiece.piece");
      out.piece = reader.readString();
    } else if (field === 2) {
      reader.expect(wireType, WIRE_FIXED32, "SentencePiece.score");
      out.score = reader.readFloat();
    } else if (field === 3) {
      reader.expect(wireType, WIRE_VARINT, "SentencePiece.type");
      const type = reader.readVarint();
      if (!(type in PieceType)) throw new WireFormatError(`unknown piece type ${type}`);
      out.type = type as PieceType;
    } else {
      reader.skip(wireType);
    }
  }
  return out;
}

function parseTrainerSpec(reader: WireReader): TrainerSpec {
  const spec: TrainerSpec = {
    modelType: "unigram",
    vocabSize: 8000,
    byteFallback: false,
    unkId: 0,
    bosId: 1,
    eosId: 2,
    padId: -1,
    unkPiece: "<unk>",
    bosPiece: "<s>",
    eosPiece: "</s>",
    padPiece: "<pad>",
    unkSurface: " \u2047 ",
    treatWhitespaceAsSuffix: false,
    splitDigits: false,
    splitByWhitespace: true,
    allowWhitespaceOnlyPieces: false,
  };
  while (!reader.done) {
    const { field, wireType } = reader.readTag();
    // Field numbers from sentencepiece_model.proto, message TrainerSpec.
    const string = (): string => {
      reader.expect(wireType, WIRE_LENGTH_DELIMITED, `TrainerSpec field ${field}`);
      return reader.readString();
    };
    const varint = (): number => {
      reader.expect(wireType, WIRE_VARINT, `TrainerSpec field ${field}`);
      return reader.readInt32();
    };
    switch (field) {
      case 3: {
        const type = varint();
        const name = MODEL_TYPES[type];
        if (name === undefined) throw new WireFormatError(`unknown model_type ${type}`);
        spec.modelType = name;
        break;
      }
      case 4:
        spec.vocabSize = varint();
        break;
      case 22:
        spec.splitByWhitespace = varint() !== 0;
        break;
      case 24:
        spec.treatWhitespaceAsSuffix = varint() !== 0;
        break;
      case 25:
        spec.splitDigits = varint() !== 0;
        break;
      case 26:
        spec.allowWhitespaceOnlyPieces = varint() !== 0;
        break;
      case 35:
        spec.byteFallback = varint() !== 0;
        break;
      case 40:
        spec.unkId = varint();
        break;
      case 41:
        spec.bosId = varint();
        break;
      case 42:
        spec.eosId = varint();
        break;
      case 43:
        spec.padId = varint();
        break;
      case 44:
        spec.unkSurface = string();
        break;
      case 45:
        spec.unkPiece = string();
        break;
      case 46:
        spec.bosPiece = string();
        break;
      case 47:
        spec.eosPiece = string();
        break;
      case 48:
        spec.padPiece = string();
        break;
      default:
        reader.skip(wireType);
    }
  }
  return spec;
}

function parseNormalizerSpec(reader: WireReader): NormalizerSpec {
  const spec: NormalizerSpec = {
    name: "",
    precompiledCharsmap: new Uint8Array(0),
    addDummyPrefix: true,
    removeExtraWhitespaces: true,
    escapeWhitespaces: true,
  };
  while (!reader.done) {
    const { field, wireType } = reader.readTag();
    switch (field) {
      case 1:
        reader.expect(wireType, WIRE_LENGTH_DELIMITED, "NormalizerSpec.name");
        spec.name = reader.readString();
        break;
      case 2:
        reader.expect(wireType, WIRE_LENGTH_DELIMITED, "NormalizerSpec.precompiled_charsmap");
        spec.precompiledCharsmap = reader.readBytes();
        break;
      case 3:
        reader.expect(wireType, WIRE_VARINT, "NormalizerSpec.add_dummy_prefix");
        spec.addDummyPrefix = reader.readBool();
        break;
      case 4:
        reader.expect(wireType, WIRE_VARINT, "NormalizerSpec.remove_extra_whitespaces");
        spec.removeExtraWhitespaces = reader.readBool();
        break;
      case 5:
        reader.expect(wireType, WIRE_VARINT, "NormalizerSpec.escape_whitespaces");
        spec.escapeWhitespaces = reader.readBool();
        break;
      default:
        reader.skip(wireType);
    }
  }
  return spec;
}

/**
 * Parses the bytes of a `tokenizer.model`. Throws TokenizerError (naming `sourceName`) when
 * the bytes are not a well-formed ModelProto with at least one piece.
 */
export function parseSentencePieceModel(bytes: Uint8Array, sourceName: string): SentencePieceModel {
  const pieces: ModelPiece[] = [];
  let trainerSpec: TrainerSpec | undefined;
  let normalizerSpec: NormalizerSpec | undefined;
  let denormalizerSpec: NormalizerSpec | undefined;
  try {
    const reader = new WireReader(bytes);
    while (!reader.done) {
      const { field, wireType } = reader.readTag();
      if (field >= 1 && field <= 5 && field !== 4)
        reader.expect(wireType, WIRE_LENGTH_DELIMITED, `ModelProto field ${field}`);
      if (field === 1) pieces.push(parsePiece(reader.readMessage()));
      else if (field === 2) trainerSpec = parseTrainerSpec(reader.readMessage());
      else if (field === 3) normalizerSpec = parseNormalizerSpec(reader.readMessage());
      else if (field === 5) denormalizerSpec = parseNormalizerSpec(reader.readMessage());
      else reader.skip(wireType);
    }
  } catch (err) {
    if (!(err instanceof WireFormatError)) throw err;
    throw new TokenizerError(
      sourceName,
      `not a valid SentencePiece model (${err.message}); the file is truncated or is not a tokenizer.model — download it again from the model's repository`,
    );
  }
  if (pieces.length === 0) {
    throw new TokenizerError(
      sourceName,
      "not a SentencePiece model: it holds no vocabulary pieces; use the tokenizer.model file that came with the model",
    );
  }
  // A model written without a trainer/normalizer spec gets the proto defaults.
  return {
    pieces,
    trainerSpec: trainerSpec ?? parseTrainerSpec(new WireReader(new Uint8Array(0))),
    normalizerSpec: normalizerSpec ?? parseNormalizerSpec(new WireReader(new Uint8Array(0))),
    denormalizerSpec,
  };
}
