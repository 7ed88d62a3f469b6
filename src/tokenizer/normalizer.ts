// SentencePiece's text normalizer (normalizer.cc), reproduced step for step: optional
// precompiled character map, removal of extra whitespace, dummy prefix and escaping of
// ' ' as '▁'. It also keeps, for every UTF-16 code unit of the normalized text, the offset
// in the original text it came from (sentencepiece's `norm_to_orig`, in UTF-16 units).
import type { NormalizerSpec } from "./sentencepiece-model";

/** U+2581 LOWER ONE EIGHTH BLOCK: how sentencepiece writes a space inside pieces. */
export const SPACE_SYMBOL = "\u2581";

export interface NormalizedText {
  text: string;
  /**
   * `normToOrig[i]` is the offset in the original string where normalized code unit `i`
   * came from; it has `text.length + 1` entries, the last one being the end of the input
   * that was consumed.
   */
  normToOrig: Int32Array;
}

/** Longest-match lookup of user-defined pieces, which pass through normalization untouched. */
export class PrefixMatcher {
  private readonly root: TrieNode = { children: new Map(), terminal: false };
  readonly isEmpty: boolean;

  constructor(pieces: readonly string[]) {
    for (const piece of pieces) {
      if (piece.length === 0) continue;
      let node = this.root;
      for (let i = 0; i < piece.length; i++) {
        const unit = piece.charCodeAt(i);
        let child = node.children.get(unit);
        if (child === undefined) {
          child = { children: new Map(), terminal: false };
          node.children.set(unit, child);
        }
        node = child;
      }
      node.terminal = true;
    }
    this.isEmpty = this.root.children.size === 0;
  }

  /** Length in code units of the longest piece starting at `text[pos]`, or 0. */
  longestMatch(text: string, pos: number): number {
    let node: TrieNode | undefined = this.root;
    let best = 0;
    for (let i = pos; i < text.length; i++) {
      node = node.children.get(text.charCodeAt(i));
      if (node === undefined) break;
      if (node.terminal) best = i + 1 - pos;
    }
    return best;
  }
}

interface TrieNode {
  children: Map<number, TrieNode>;
  terminal: boolean;
}

/**
 * The `precompiled_charsmap` blob: `<uint32 trie size><Darts double-array trie><strings>`.
 * The trie maps a UTF-8 byte prefix of the input to the offset of its NUL-terminated
 * replacement in `strings`.
 */
class PrecompiledCharsMap {
  private readonly units: Uint32Array;
  private readonly strings: Uint8Array;
  private readonly decoded = new Map<number, string>();
  private readonly decoder = new TextDecoder("utf-8", { ignoreBOM: true });

  constructor(blob: Uint8Array) {
    if (blob.length < 4) throw new Error("precompiled_charsmap is shorter than its header");
    const view = new DataView(blob.buffer, blob.byteOffset, blob.byteLength);
    const trieSize = view.getUint32(0, true);
    if (trieSize % 4 !== 0 || 4 + trieSize > blob.length)
      throw new Error("precompiled_charsmap has a bad trie size");
    this.units = new Uint32Array(trieSize / 4);
    for (let i = 0; i < this.units.length; i++) this.units[i] = view.getUint32(4 + 4 * i, true);
    this.strings = blob.subarray(4 + trieSize);
  }

  /**
   * Darts-clone `commonPrefixSearch`, keeping only the longest match:
   * returns [bytes matched, replacement] or undefined when no rule applies.
   */
  longestMatch(bytes: Uint8Array, pos: number, end: number): [number, string] | undefined {
    const units = this.units;
    let nodePos = 0;
    let unit = units[0];
    nodePos ^= offsetOf(unit);
    let bestLength = 0;
    let bestValue = 0;
    for (let i = pos; i < end; i++) {
      const byte = bytes[i];
      nodePos ^= byte;
      if (nodePos >= units.length) break;
      unit = units[nodePos];
      // label() keeps the leaf flag (bit 31), so a leaf unit never equals a key byte.
      if ((unit & 0x800000ff) >>> 0 !== byte) break;
      nodePos ^= offsetOf(unit);
      if (((unit >>> 8) & 1) === 1) {
        if (nodePos >= units.length) break;
        bestLength = i + 1 - pos;
        bestValue = units[nodePos] & 0x7fffffff;
      }
    }
    return bestLength === 0 ? undefined : [bestLength, this.replacement(bestValue)];
  }

  private replacement(offset: number): string {
    let cached = this.decoded.get(offset);
    if (cached === undefined) {
      let end = offset;
      while (end < this.strings.length && this.strings[end] !== 0) end++;
      cached = this.decoder.decode(this.strings.subarray(offset, end));
      this.decoded.set(offset, cached);
    }
    return cached;
  }
}

function offsetOf(unit: number): number {
  return (unit >>> 10) << ((unit & (1 << 9)) >>> 6);
}

/** Growable buffer of normalized code units and their original offsets. */
class NormalizedBuilder {
  private parts: string[] = [];
  private map: Int32Array;
  length = 0;

  constructor(capacity: number) {
    this.map = new Int32Array(Math.max(16, capacity + 2));
  }

  push(text: string, origin: number): void {
    this.parts.push(text);
    if (this.length + text.length + 1 > this.map.length) {
      const bigger = new Int32Array(Math.max(this.map.length * 2, this.length + text.length + 1));
      bigger.set(this.map);
      this.map = bigger;
    }
    this.map.fill(origin, this.length, this.length + text.length);
    this.length += text.length;
  }

  endsWith(suffix: string): boolean {
    // Parts are single characters or short replacements; join lazily only at the tail.
    let tail = "";
    for (let i = this.parts.length - 1; i >= 0 && tail.length < suffix.length; i--)
      tail = this.parts[i] + tail;
    return tail.endsWith(suffix);
  }

  /** Removes the last `n` code units; returns the origin of the first one removed. */
  truncate(n: number): number {
    const newLength = this.length - n;
    const origin = this.map[newLength];
    let remove = n;
    while (remove > 0) {
      const last = this.parts.pop() as string;
      if (last.length <= remove) {
        remove -= last.length;
      } else {
        this.parts.push(last.slice(0, last.length - remove));
        remove = 0;
      }
    }
    this.length = newLength;
    return origin;
  }

  finish(end: number): NormalizedText {
    const normToOrig = this.map.slice(0, this.length + 1);
    normToOrig[this.length] = end;
    return { text: this.parts.join(""), normToOrig };
  }
}

export class Normalizer {
  private readonly charsMap: PrecompiledCharsMap | undefined;
  private readonly encoder = new TextEncoder();

  constructor(
    private readonly spec: NormalizerSpec,
    private readonly userDefined: PrefixMatcher,
    private readonly treatWhitespaceAsSuffix: boolean,
  ) {
    this.charsMap =
      spec.precompiledCharsmap.length > 0 ? new PrecompiledCharsMap(spec.precompiledCharsmap) : undefined;
  }

  normalize(input: string): NormalizedText {
    const spec = this.spec;
    if (
      this.charsMap === undefined &&
      this.userDefined.isEmpty &&
      !spec.removeExtraWhitespaces &&
      !this.treatWhitespaceAsSuffix
    ) {
      return this.normalizeIdentity(input);
    }
    const out = new NormalizedBuilder(input.length + 1);
    if (input.length === 0) return out.finish(0);

    // UTF-8 of the input, for the charsmap trie, with the code-unit offset of each byte.
    const utf8 = this.charsMap ? this.utf8WithOffsets(input) : undefined;

    let pos = 0; // in UTF-16 code units of `input`
    const space = spec.escapeWhitespaces ? SPACE_SYMBOL : " ";
    const addSpace = (): void => out.push(space, pos);

    if (spec.removeExtraWhitespaces) {
      while (pos < input.length) {
        const [replacement, consumed] = this.normalizePrefix(input, pos, utf8);
        if (replacement !== " ") break;
        pos += consumed;
      }
    }
    if (pos >= input.length) return out.finish(pos);

    if (!this.treatWhitespaceAsSuffix && spec.addDummyPrefix) addSpace();

    let isPrevSpace = spec.removeExtraWhitespaces;
    while (pos < input.length) {
      let [piece, consumed] = this.normalizePrefix(input, pos, utf8);
      if (isPrevSpace) {
        let skip = 0;
        while (skip < piece.length && piece.charCodeAt(skip) === 0x20) skip++;
        if (skip > 0) piece = piece.slice(skip);
      }
      if (piece.length > 0) {
        out.push(spec.escapeWhitespaces ? piece.replaceAll(" ", SPACE_SYMBOL) : piece, pos);
        isPrevSpace = piece.charCodeAt(piece.length - 1) === 0x20;
      }
      pos += consumed;
      if (!spec.removeExtraWhitespaces) isPrevSpace = false;
    }

    let end = pos;
    if (spec.removeExtraWhitespaces) {
      while (out.length > 0 && out.endsWith(space)) end = out.truncate(space.length);
    }
    if (this.treatWhitespaceAsSuffix && spec.addDummyPrefix) out.push(space, end);
    return out.finish(end);
  }

  /**
   * What normalize() gives when every character maps to itself and no whitespace is
   * removed (LLaMA-style models), in a few native string operations.
   */
  private normalizeIdentity(input: string): NormalizedText {
    if (input.length === 0) return { text: "", normToOrig: new Int32Array(1) };
    let text = input.replace(LONE_SURROGATE, "\ufffd");
    if (this.spec.escapeWhitespaces) text = text.replaceAll(" ", SPACE_SYMBOL);
    const prefix = this.spec.addDummyPrefix ? (this.spec.escapeWhitespaces ? SPACE_SYMBOL : " ") : "";
    const normToOrig = new Int32Array(prefix.length + input.length + 1);
    for (let i = 0; i <= input.length; i++) normToOrig[prefix.length + i] = i;
    return { text: prefix + text, normToOrig };
  }

  /**
   * normalizer.cc `NormalizePrefix`: [replacement, code units consumed] for the text at
   * `pos`. User-defined pieces win, then the longest charsmap rule, else one character.
   */
  private normalizePrefix(input: string, pos: number, utf8: Utf8WithOffsets | undefined): [string, number] {
    if (!this.userDefined.isEmpty) {
      const length = this.userDefined.longestMatch(input, pos);
      if (length > 0) return [input.slice(pos, pos + length), length];
    }
    if (this.charsMap !== undefined && utf8 !== undefined) {
      const start = utf8.byteOf[pos];
      const match = this.charsMap.longestMatch(utf8.bytes, start, utf8.bytes.length);
      if (match !== undefined) {
        const [byteLength, replacement] = match;
        // Rules cover whole characters; unitOf rounds a (malformed) mid-character end up.
        const endUnit = utf8.unitOf[start + byteLength];
        return [replacement, endUnit - pos];
      }
    }
    const unit = input.charCodeAt(pos);
    if (unit >= 0xd800 && unit <= 0xdbff && pos + 1 < input.length) {
      const next = input.charCodeAt(pos + 1);
      if (next >= 0xdc00 && next <= 0xdfff) return [input.slice(pos, pos + 2), 2];
    }
    // A lone surrogate is what sentencepiece would see as invalid UTF-8: U+FFFD.
    if (unit >= 0xd800 && unit <= 0xdfff) return ["\ufffd", 1];
    return [input[pos], 1];
  }

  private utf8WithOffsets(input: string): Utf8WithOffsets {
    const bytes = this.encoder.encode(input); // lone surrogates become EF BF BD, 3 bytes
    const byteOf = new Int32Array(input.length + 1);
    const unitOf = new Int32Array(bytes.length + 1);
    let b = 0;
    for (let i = 0; i < input.length; i++) {
      byteOf[i] = b;
      const unit = input.charCodeAt(i);
      let size: number;
      let units = 1;
      if (unit < 0x80) size = 1;
      else if (unit < 0x800) size = 2;
      else if (
        unit >= 0xd800 &&
        unit <= 0xdbff &&
        i + 1 < input.length &&
        isLowSurrogate(input.charCodeAt(i + 1))
      ) {
        size = 4;
        units = 2;
        byteOf[i + 1] = b + 4; // never a start: a character is not split between its surrogates
      } else size = 3;
      // A byte inside a character maps to the character's end, so a (malformed) rule that
      // ends mid-character still consumes the whole character instead of nothing.
      unitOf[b] = i;
      unitOf.fill(i + units, b + 1, b + size);
      b += size;
      i += units - 1;
    }
    byteOf[input.length] = b;
    unitOf[b] = input.length;
    return { bytes, byteOf, unitOf };
  }
}

/** A surrogate that is not half of a pair: what sentencepiece would get as invalid UTF-8. */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

interface Utf8WithOffsets {
  bytes: Uint8Array;
  /** Byte offset of each code unit (and of the end). */
  byteOf: Int32Array;
  /** Code-unit offset of each character's first byte (and of the end). */
  unitOf: Int32Array;
}

function isLowSurrogate(unit: number): boolean {
  return unit >= 0xdc00 && unit <= 0xdfff;
}
