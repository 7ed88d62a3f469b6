// An exact, dependency-free port of sentencepiece's encoder and decoder for BPE models
// (LLaMA-style `tokenizer.model`), matching sentencepiece 0.1.97 id for id, with the
// original-text span of every token for mapping tokens back to editor ranges.
import { existsSync, statSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { FileAccessError, readRegularFile, readRegularFileAsync } from "../files/regular-file";
import { BpeEncoder, BpeVocabulary } from "./bpe";
import {
  createStreamDecoder,
  decodeIds,
  type PieceSurfaces,
  type StreamDecoder,
  type StreamDecoderOptions,
} from "./decoder";
import { TokenizerError } from "./errors";
import { Normalizer, PrefixMatcher, SPACE_SYMBOL } from "./normalizer";
import { parseSentencePieceModel, PieceType, type SentencePieceModel } from "./sentencepiece-model";

export { TokenizerError } from "./errors";
export type { StreamDecoder, StreamDecoderOptions } from "./decoder";
export { PieceType } from "./sentencepiece-model";
export type { ModelPiece, NormalizerSpec, SentencePieceModel, TrainerSpec } from "./sentencepiece-model";

export interface EncodeOptions {
  /** Prepend the BOS id (default true, as the model was trained). */
  addBos?: boolean;
  /** Append the EOS id (default false). */
  addEos?: boolean;
}

/** `[start, end)` in UTF-16 code units of the text given to encodeWithSpans(). */
export type TokenSpan = [number, number];

export interface EncodedText {
  ids: number[];
  /**
   * One span per id, in the original text. BOS is [0, 0] and EOS [n, n]. A token holding the
   * dummy-prefix '▁' covers nothing for it; a '▁' standing for a real space covers that
   * space. When a character falls back to byte pieces, its first byte piece covers the
   * whole character and the others are empty at the character's end. Spans are in order and
   * do not overlap; with an identity normalizer they tile the text exactly.
   */
  spans: TokenSpan[];
}

const TOKENIZER_MODEL = "tokenizer.model";

export class SentencePieceTokenizer {
  readonly vocabSize: number;
  readonly bosId: number;
  readonly eosId: number;
  readonly unkId: number;
  /** -1 when the model has no padding piece. */
  readonly padId: number;

  private readonly pieces: string[];
  private readonly types: Uint8Array;
  private readonly scores: Float32Array;
  private readonly mergeable = new Map<string, number>();
  private readonly reserved = new Map<string, number>();
  /** Byte value of each `<0xNN>` piece, -1 for other pieces. */
  private readonly byteValue: Int16Array;
  /** Id of the `<0xNN>` piece for each byte value (when byte fallback is on). */
  private readonly byteIds = new Int32Array(256).fill(-1);
  private readonly byteFallback: boolean;
  private readonly unkSurface: string;
  /** Whether decode() drops a leading '▁' (add_dummy_prefix or remove_extra_whitespaces). */
  private readonly stripsStartSpace: boolean;
  private readonly removesExtraWhitespaces: boolean;
  /** decode() text of each non-byte piece when not at the start: '▁' → ' '. */
  private readonly surfaces: string[];
  private readonly normalizer: Normalizer;
  private readonly userDefined: PrefixMatcher;
  private readonly bpe: BpeEncoder;
  private readonly pieceSurfaces: PieceSurfaces;

  private constructor(
    readonly sourceName: string,
    model: SentencePieceModel,
  ) {
    const fail = (message: string): never => {
      throw new TokenizerError(sourceName, message);
    };
    const { trainerSpec, normalizerSpec, denormalizerSpec } = model;
    if (trainerSpec.modelType !== "bpe") {
      fail(
        `this is a SentencePiece ${trainerSpec.modelType} model; only BPE models (LLaMA-style tokenizer.model) are supported`,
      );
    }
    if (trainerSpec.treatWhitespaceAsSuffix) {
      fail(
        "models trained with treat_whitespace_as_suffix are not supported; use a model with the usual '▁' prefix",
      );
    }
    if (denormalizerSpec !== undefined && denormalizerSpec.precompiledCharsmap.length > 0) {
      fail("models with a denormalizer (denormalizer_spec) are not supported");
    }

    this.vocabSize = model.pieces.length;
    this.pieces = model.pieces.map((p) => p.piece);
    this.types = Uint8Array.from(model.pieces, (p) => p.type);
    this.scores = Float32Array.from(model.pieces, (p) => p.score);
    this.byteValue = new Int16Array(this.vocabSize).fill(-1);
    this.byteFallback = trainerSpec.byteFallback;
    this.unkSurface = trainerSpec.unkSurface;
    this.stripsStartSpace = normalizerSpec.addDummyPrefix || normalizerSpec.removeExtraWhitespaces;
    this.removesExtraWhitespaces = normalizerSpec.removeExtraWhitespaces;

    // model_interface.cc InitializePieces: NORMAL, USER_DEFINED and UNUSED pieces can come
    // out of BPE merges; the others (unknown, control, byte) are only reachable by id.
    let unkId = -1;
    const userDefined: string[] = [];
    model.pieces.forEach(({ piece, type }, id) => {
      if (piece.length === 0) fail(`piece ${id} is empty; the model file is damaged`);
      const map =
        type === PieceType.Normal || type === PieceType.UserDefined || type === PieceType.Unused
          ? this.mergeable
          : this.reserved;
      if (this.mergeable.has(piece) || this.reserved.has(piece))
        fail(`piece "${piece}" is defined twice; the model file is damaged`);
      map.set(piece, id);
      if (type === PieceType.UserDefined) userDefined.push(piece);
      if (type === PieceType.Unknown) {
        if (unkId >= 0) fail("the model defines more than one <unk> piece");
        unkId = id;
      }
      if (type === PieceType.Byte) {
        if (!trainerSpec.byteFallback) fail(`byte piece "${piece}" found although byte_fallback is off`);
        const match = /^<0x([0-9A-F]{2})>$/.exec(piece);
        if (match === null) fail(`byte piece "${piece}" is not of the form <0xNN>`);
        const byte = parseInt((match as RegExpExecArray)[1], 16);
        this.byteValue[id] = byte;
        this.byteIds[byte] = id;
      }
    });
    if (unkId < 0) fail("the model has no <unk> piece; the model file is damaged");
    if (trainerSpec.byteFallback && this.byteIds.some((id) => id < 0)) {
      fail("byte_fallback is on but some of the 256 <0xNN> pieces are missing");
    }
    this.unkId = unkId;
    // As SentencePieceProcessor::bos_id() etc.: the id of the named piece if it is a control
    // piece, else -1 (disabled).
    const controlId = (piece: string): number => {
      const id = this.pieceToId(piece);
      return this.types[id] === PieceType.Control ? id : -1;
    };
    this.bosId = controlId(trainerSpec.bosPiece);
    this.eosId = controlId(trainerSpec.eosPiece);
    this.padId = controlId(trainerSpec.padPiece);

    this.userDefined = new PrefixMatcher(userDefined);
    try {
      this.normalizer = new Normalizer(normalizerSpec, this.userDefined, trainerSpec.treatWhitespaceAsSuffix);
    } catch (err) {
      throw new TokenizerError(
        sourceName,
        `its normalizer "${normalizerSpec.name}" cannot be read (${(err as Error).message}); the model file is damaged`,
      );
    }

    const unused = Uint8Array.from(model.pieces, (p) => (p.type === PieceType.Unused ? 1 : 0));
    const vocabulary = new BpeVocabulary(this.mergeable, this.reserved, this.scores, unused, unkId);
    let spaceInside = false;
    for (const piece of this.mergeable.keys()) if (/[^\u2581]\u2581/.test(piece)) spaceInside = true;
    this.bpe = new BpeEncoder(vocabulary, this.userDefined, !spaceInside);
    this.surfaces = model.pieces.map(({ piece, type }) =>
      type === PieceType.Control || type === PieceType.Byte
        ? ""
        : type === PieceType.Unknown
          ? this.unkSurface
          : piece.replaceAll(SPACE_SYMBOL, " "),
    );
    this.pieceSurfaces = {
      byteOf: (id) => this.byteValue[id],
      surface: (id, atStart) =>
        atStart && this.dropsStartSpace(id) ? this.surfaces[id].slice(1) : this.surfaces[id],
      endsStart: (id) => !this.removesExtraWhitespaces && this.dropsStartSpace(id),
    };
  }

  /**
   * Loads a `tokenizer.model`. `path` may also be the model folder. Throws TokenizerError
   * naming the file, with what to do, when it is missing, unreadable or not a BPE model.
   */
  static fromFile(path: string): SentencePieceTokenizer {
    const file = tokenizerFile(path);
    let bytes: Uint8Array;
    try {
      bytes = readRegularFile(file, TOKENIZER_READ);
    } catch (err) {
      throw tokenizerReadError(file, err);
    }
    return SentencePieceTokenizer.fromBuffer(bytes, file);
  }

  /** fromFile without blocking the thread (the extension host). */
  static async fromFileAsync(path: string): Promise<SentencePieceTokenizer> {
    const file = tokenizerFile(path);
    let bytes: Uint8Array;
    try {
      bytes = await readRegularFileAsync(file, TOKENIZER_READ);
    } catch (err) {
      throw tokenizerReadError(file, err);
    }
    return SentencePieceTokenizer.fromBuffer(bytes, file);
  }

  /** Parses the bytes of a `tokenizer.model`; `sourceName` is used in error messages. */
  static fromBuffer(buf: Uint8Array, sourceName: string): SentencePieceTokenizer {
    return new SentencePieceTokenizer(sourceName, parseSentencePieceModel(buf, sourceName));
  }

  /** The piece of an id, e.g. "▁return" or "<0x0A>". Throws RangeError out of range. */
  idToPiece(id: number): string {
    this.checkId(id);
    return this.pieces[id];
  }

  /** The id of a piece, or the unk id when there is none (as sentencepiece's PieceToId). */
  pieceToId(piece: string): number {
    return this.reserved.get(piece) ?? this.mergeable.get(piece) ?? this.unkId;
  }

  /** Control pieces (<s>, </s>, …) have no text. */
  isControl(id: number): boolean {
    return this.types[id] === PieceType.Control;
  }

  /** Byte-fallback pieces `<0xNN>`. */
  isByte(id: number): boolean {
    return this.types[id] === PieceType.Byte;
  }

  /** Token ids of `text`, exactly as sentencepiece's EncodeAsIds (BOS first by default). */
  encode(text: string, opts: EncodeOptions = {}): number[] {
    return this.encodeWithSpans(text, opts).ids;
  }

  /** encode() plus, for each id, the range of `text` it stands for (see EncodedText). */
  encodeWithSpans(text: string, opts: EncodeOptions = {}): EncodedText {
    const ids: number[] = [];
    const spans: TokenSpan[] = [];
    if (opts.addBos ?? true) {
      if (this.bosId < 0)
        throw new TokenizerError(this.sourceName, "the model has no BOS piece; encode with addBos: false");
      ids.push(this.bosId);
      spans.push([0, 0]);
    }
    const { text: normalized, normToOrig } = this.normalizer.normalize(text);
    const tokens = this.bpe.encode(normalized);
    let prevUnk = false;
    for (let i = 0; i < tokens.ids.length; i++) {
      const id = tokens.ids[i];
      const isUnk = id === this.unkId;
      if (isUnk && this.byteFallback) {
        this.pushBytePieces(normalized, tokens.starts[i], tokens.ends[i], normToOrig, ids, spans);
      } else if (isUnk && prevUnk) {
        // Without byte fallback, a run of unknown characters is one <unk> (as
        // PopulateSentencePieceText merges them).
        spans[spans.length - 1][1] = normToOrig[tokens.ends[i]];
      } else {
        ids.push(id);
        spans.push([normToOrig[tokens.starts[i]], normToOrig[tokens.ends[i]]]);
      }
      prevUnk = isUnk;
    }
    if (opts.addEos ?? false) {
      if (this.eosId < 0)
        throw new TokenizerError(this.sourceName, "the model has no EOS piece; encode with addEos: false");
      ids.push(this.eosId);
      spans.push([text.length, text.length]);
    }
    return { ids, spans };
  }

  /** sentencepiece DecodeIds: control ids vanish, byte pieces are joined into UTF-8. */
  decode(ids: readonly number[]): string {
    for (const id of ids) this.checkId(id);
    return decodeIds(ids, this.pieceSurfaces);
  }

  /**
   * Incremental decode(): the concatenation of every push() and the final flush() equals
   * decode() of the same ids (with the default `stripLeadingSpace: true`).
   */
  createStreamDecoder(options: StreamDecoderOptions = {}): StreamDecoder {
    const inner = createStreamDecoder(this.pieceSurfaces, options);
    return {
      push: (id) => {
        this.checkId(id);
        return inner.push(id);
      },
      flush: () => inner.flush(),
    };
  }

  /** Unknown characters as the byte pieces of their UTF-8 (sentencepiece byte fallback). */
  private pushBytePieces(
    normalized: string,
    start: number,
    end: number,
    normToOrig: Int32Array,
    ids: number[],
    spans: TokenSpan[],
  ): void {
    for (let pos = start; pos < end; ) {
      const cp = normalized.codePointAt(pos) as number;
      const units = cp > 0xffff ? 2 : 1;
      const charStart = normToOrig[pos];
      const charEnd = normToOrig[pos + units];
      const bytes = utf8Bytes(cp);
      for (let k = 0; k < bytes.length; k++) {
        ids.push(this.byteIds[bytes[k]]);
        spans.push(k === 0 ? [charStart, charEnd] : [charEnd, charEnd]);
      }
      pos += units;
    }
  }

  /** Whether the piece's leading '▁' is dropped at the start of a decoded text. */
  private dropsStartSpace(id: number): boolean {
    const type = this.types[id];
    return (
      this.stripsStartSpace &&
      type !== PieceType.Control &&
      type !== PieceType.Unknown &&
      this.pieces[id].startsWith(SPACE_SYMBOL)
    );
  }

  private checkId(id: number): void {
    if (!Number.isInteger(id) || id < 0 || id >= this.vocabSize) {
      throw new RangeError(
        `token id ${id} is out of range for ${this.sourceName} (vocabulary of ${this.vocabSize})`,
      );
    }
  }
}

/** UTF-8 bytes of one code point (lone surrogates never reach here: normalized to U+FFFD). */
function utf8Bytes(cp: number): number[] {
  if (cp < 0x80) return [cp];
  if (cp < 0x800) return [0xc0 | (cp >> 6), 0x80 | (cp & 0x3f)];
  if (cp < 0x10000) return [0xe0 | (cp >> 12), 0x80 | ((cp >> 6) & 0x3f), 0x80 | (cp & 0x3f)];
  return [0xf0 | (cp >> 18), 0x80 | ((cp >> 12) & 0x3f), 0x80 | ((cp >> 6) & 0x3f), 0x80 | (cp & 0x3f)];
}

/** Most bytes a tokenizer.model may have (LLaMA's: 500 kB; 256k-piece models: about 4 MB). */
export const TOKENIZER_MAX_BYTES = 64 << 20;
const TOKENIZER_READ = { maxBytes: TOKENIZER_MAX_BYTES, what: "tokenizer.model" };

/** The tokenizer.model `path` names (the file, or the folder holding it); refuses tokenizer.json. */
function tokenizerFile(path: string): string {
  let file = path;
  if (existsSync(path) && statSync(path).isDirectory()) file = join(path, TOKENIZER_MODEL);
  const folder = dirname(file);
  if (
    basename(file) === "tokenizer.json" ||
    (!existsSync(file) && existsSync(join(folder, "tokenizer.json")))
  ) {
    throw new TokenizerError(
      file,
      `the model comes with tokenizer.json (a Hugging Face fast tokenizer), which is not supported yet; put the model's SentencePiece ${TOKENIZER_MODEL} in ${folder}`,
    );
  }
  return file;
}

function tokenizerReadError(file: string, err: unknown): TokenizerError {
  if (!(err instanceof FileAccessError)) throw err;
  return new TokenizerError(
    file,
    err.problem === "missing"
      ? `file not found; the model folder needs its SentencePiece ${TOKENIZER_MODEL}`
      : err.reason,
  );
}
