// SentencePiece's BPE segmentation (bpe_model.cc `Model::SampleEncode` without sampling),
// reproduced exactly: start from single characters (user-defined pieces as frozen whole
// symbols), repeatedly merge the adjacent pair whose concatenation is a vocabulary piece
// with the highest score (ties: the leftmost pair), then split UNUSED pieces back into the
// pieces they were merged from. A max-heap of candidate pairs with lazy invalidation over a
// linked list of symbols makes it O(n log n).
//
// Speed-up that keeps the result exact: when no vocabulary piece has a '▁' right after
// another character (true of models trained with split_by_whitespace, LLaMA's included), no
// merge can cross the point before a '▁' that follows another character. The text is then
// cut there into independent segments ("▁word"), each merged on its own and remembered in
// a cache, since the same words recur throughout source code.
import type { PrefixMatcher } from "./normalizer";

/**
 * The vocabulary as BPE sees it (model_interface.cc InitializePieces): NORMAL, USER_DEFINED
 * and UNUSED pieces can come out of merges ("mergeable"); unknown, control and byte pieces
 * ("reserved") are only found by PieceToId.
 */
export class BpeVocabulary {
  /** Id of each single-code-unit mergeable piece, by code unit; -1 if none. */
  private readonly unitIds = new Int32Array(0x10000).fill(-1);
  /** Open-addressing table: (left id, right id) → id of the piece left + right spells. */
  private readonly pairLeft: Int32Array;
  private readonly pairRight: Int32Array;
  private readonly pairMerged: Int32Array;
  private readonly pairMask: number;

  constructor(
    private readonly mergeable: ReadonlyMap<string, number>,
    private readonly reserved: ReadonlyMap<string, number>,
    private readonly scores: Float32Array,
    private readonly unused: Uint8Array,
    private readonly unkId: number,
  ) {
    const pairs: number[] = [];
    for (const [piece, id] of mergeable) {
      if (piece.length === 1) this.unitIds[piece.charCodeAt(0)] = id;
      // Every split of a piece into two mergeable pieces is a merge that can produce it.
      for (let k = 1; k < piece.length; k++) {
        const left = mergeable.get(piece.slice(0, k));
        if (left === undefined) continue;
        const right = mergeable.get(piece.slice(k));
        if (right !== undefined) pairs.push(left, right, id);
      }
    }
    let size = 16;
    while (size < (pairs.length / 3) * 2) size *= 2;
    this.pairMask = size - 1;
    this.pairLeft = new Int32Array(size).fill(-1);
    this.pairRight = new Int32Array(size);
    this.pairMerged = new Int32Array(size);
    for (let i = 0; i < pairs.length; i += 3) {
      let slot = this.slotOf(pairs[i], pairs[i + 1]);
      while (this.pairLeft[slot] !== -1) slot = (slot + 1) & this.pairMask;
      this.pairLeft[slot] = pairs[i];
      this.pairRight[slot] = pairs[i + 1];
      this.pairMerged[slot] = pairs[i + 2];
    }
  }

  /** Id of a mergeable piece, or -1. */
  mergeableId(piece: string): number {
    if (piece.length === 1) return this.unitIds[piece.charCodeAt(0)];
    return this.mergeable.get(piece) ?? -1;
  }

  /**
   * Id of the mergeable piece spelled by mergeable pieces `left` + `right`, or -1: the same
   * answer as mergeableId() on the concatenation, without building the string.
   */
  mergedId(left: number, right: number): number {
    for (let slot = this.slotOf(left, right); ; slot = (slot + 1) & this.pairMask) {
      const l = this.pairLeft[slot];
      if (l === -1) return -1;
      if (l === left && this.pairRight[slot] === right) return this.pairMerged[slot];
    }
  }

  /** sentencepiece `PieceToId`: reserved pieces, then mergeable ones, else the unk id. */
  pieceToId(piece: string): number {
    return this.reserved.get(piece) ?? this.mergeable.get(piece) ?? this.unkId;
  }

  score(id: number): number {
    return this.scores[id];
  }

  isUnused(id: number): boolean {
    return this.unused[id] === 1;
  }

  private slotOf(left: number, right: number): number {
    return (Math.imul(left, 0x9e3779b1) ^ Math.imul(right, 0x85ebca6b)) & this.pairMask;
  }
}

/** The segmentation of a text: token `i` is `ids[i]` over `[starts[i], ends[i])`. */
export interface BpeTokens {
  ids: number[];
  starts: number[];
  ends: number[];
}

const SPACE_SYMBOL_UNIT = 0x2581;
const CACHE_LIMIT = 50_000;
/** Segments longer than this are not cached (rarely repeated, and memory). */
const CACHE_MAX_SEGMENT = 64;

/**
 * A copy of `s` that does not hold on to the string it was sliced from. V8 makes a slice of 13
 * characters or more a view of its parent (here the whole normalized prompt, kilobytes), so a
 * cache key made by slicing kept every prompt it came from alive: under the typing load test the
 * engine's heap grew about 1.4 MB/min, one prompt per new word typed (README, "Typing load").
 * Concatenating first makes V8 copy the characters when it slices.
 */
function detached(s: string): string {
  return ` ${s}`.slice(1);
}

/** Candidate merges, as parallel growable arrays; the heap stores indices into them. */
class PairQueue {
  private score = new Float64Array(64);
  private left = new Int32Array(64);
  private right = new Int32Array(64);
  private size = new Int32Array(64);
  private merged = new Int32Array(64);
  private heap = new Int32Array(64);
  private count = 0; // pairs ever stored
  private heapLength = 0;

  get isEmpty(): boolean {
    return this.heapLength === 0;
  }

  clear(): void {
    this.count = 0;
    this.heapLength = 0;
  }

  push(score: number, left: number, right: number, size: number, merged: number): void {
    if (this.count === this.score.length) this.grow();
    const pair = this.count++;
    this.score[pair] = score;
    this.left[pair] = left;
    this.right[pair] = right;
    this.size[pair] = size;
    this.merged[pair] = merged;
    let i = this.heapLength++;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.before(pair, this.heap[parent])) break;
      this.heap[i] = this.heap[parent];
      i = parent;
    }
    this.heap[i] = pair;
  }

  /** Removes the best pair and returns its index, for left()/right()/size()/merged(). */
  pop(): number {
    const top = this.heap[0];
    const last = this.heap[--this.heapLength];
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= this.heapLength) break;
      const r = l + 1;
      const child = r < this.heapLength && this.before(this.heap[r], this.heap[l]) ? r : l;
      if (!this.before(this.heap[child], last)) break;
      this.heap[i] = this.heap[child];
      i = child;
    }
    if (this.heapLength > 0) this.heap[i] = last;
    return top;
  }

  leftOf(pair: number): number {
    return this.left[pair];
  }

  rightOf(pair: number): number {
    return this.right[pair];
  }

  sizeOf(pair: number): number {
    return this.size[pair];
  }

  mergedOf(pair: number): number {
    return this.merged[pair];
  }

  /** sentencepiece's SymbolPairComparator: higher score first, then smaller left index. */
  private before(a: number, b: number): boolean {
    const sa = this.score[a];
    const sb = this.score[b];
    return sa > sb || (sa === sb && this.left[a] < this.left[b]);
  }

  private grow(): void {
    const n = this.score.length * 2;
    const score = new Float64Array(n);
    score.set(this.score);
    this.score = score;
    const grow = (a: Int32Array): Int32Array<ArrayBuffer> => {
      const b = new Int32Array(n);
      b.set(a);
      return b;
    };
    this.left = grow(this.left);
    this.right = grow(this.right);
    this.size = grow(this.size);
    this.merged = grow(this.merged);
    this.heap = grow(this.heap);
  }
}

export class BpeEncoder {
  private readonly cache = new Map<string, Int32Array>();
  private readonly queue = new PairQueue();
  private readonly scratch: BpeTokens = { ids: [], starts: [], ends: [] };
  // Symbols of the text being merged: [start, start + length) of it, linked by prev/next;
  // length 0 = merged away. `id` is the symbol's mergeable piece id, or -1 (a character
  // outside the vocabulary, or a frozen user-defined piece). Reused between calls.
  private start = new Int32Array(0);
  private length = new Int32Array(0);
  private prev = new Int32Array(0);
  private next = new Int32Array(0);
  private id = new Int32Array(0);
  private frozen = new Uint8Array(0);
  /** Merged pieces of type UNUSED, to split them again at the end (rare: allocated lazily). */
  private reverseMerges: Map<string, [string, string]> | undefined;

  /**
   * @param splitBeforeSpaces true only if no piece of the vocabulary (user-defined pieces
   *   included) holds a '▁' right after another character; see the file comment.
   */
  constructor(
    private readonly vocab: BpeVocabulary,
    private readonly userDefined: PrefixMatcher,
    private readonly splitBeforeSpaces: boolean,
  ) {}

  encode(text: string): BpeTokens {
    const out: BpeTokens = { ids: [], starts: [], ends: [] };
    if (!this.splitBeforeSpaces) {
      this.merge(text, 0, out);
      return out;
    }
    let segmentStart = 0;
    for (let i = 1; i <= text.length; i++) {
      if (
        i < text.length &&
        !(text.charCodeAt(i) === SPACE_SYMBOL_UNIT && text.charCodeAt(i - 1) !== SPACE_SYMBOL_UNIT)
      )
        continue;
      this.encodeSegment(text.slice(segmentStart, i), segmentStart, out);
      segmentStart = i;
    }
    return out;
  }

  private encodeSegment(segment: string, offset: number, out: BpeTokens): void {
    if (segment.length > CACHE_MAX_SEGMENT) {
      this.merge(segment, offset, out);
      return;
    }
    let packed = this.cache.get(segment);
    if (packed === undefined) {
      const tokens = this.scratch;
      tokens.ids.length = tokens.starts.length = tokens.ends.length = 0;
      this.merge(segment, 0, tokens);
      packed = new Int32Array(tokens.ids.length * 3);
      for (let i = 0; i < tokens.ids.length; i++) {
        packed[3 * i] = tokens.ids[i];
        packed[3 * i + 1] = tokens.starts[i];
        packed[3 * i + 2] = tokens.ends[i];
      }
      if (this.cache.size >= CACHE_LIMIT) this.cache.clear();
      this.cache.set(detached(segment), packed);
    }
    for (let i = 0; i < packed.length; i += 3) {
      out.ids.push(packed[i]);
      out.starts.push(packed[i + 1] + offset);
      out.ends.push(packed[i + 2] + offset);
    }
  }

  /** Merges `text` and appends its tokens to `out`, their offsets shifted by `offset`. */
  private merge(text: string, offset: number, out: BpeTokens): void {
    if (text.length === 0) return;
    this.ensureCapacity(text.length);
    const { start, length, prev, next, id, frozen, vocab, userDefined, queue } = this;
    this.reverseMerges = undefined;

    let count = 0;
    for (let pos = 0; pos < text.length; ) {
      let size = userDefined.isEmpty ? 0 : userDefined.longestMatch(text, pos);
      frozen[count] = size > 0 ? 1 : 0;
      if (size === 0) size = codePointLength(text, pos);
      start[count] = pos;
      length[count] = size;
      id[count] =
        frozen[count] === 1 ? -1 : vocab.mergeableId(size === 1 ? text[pos] : text.substr(pos, size));
      prev[count] = count - 1;
      pos += size;
      next[count] = pos < text.length ? count + 1 : -1;
      count++;
    }

    queue.clear();
    for (let i = 1; i < count; i++) this.maybeAddPair(text, i - 1, i);

    while (!queue.isEmpty) {
      const pair = queue.pop();
      const left = queue.leftOf(pair);
      const right = queue.rightOf(pair);
      const size = queue.sizeOf(pair);
      // Stale: one side was merged away or grew since the pair was queued.
      if (length[left] === 0 || length[right] === 0 || length[left] + length[right] !== size) continue;
      length[left] = size;
      id[left] = queue.mergedOf(pair);
      next[left] = next[right];
      if (next[right] >= 0) prev[next[right]] = left;
      length[right] = 0;
      this.maybeAddPair(text, prev[left], left);
      this.maybeAddPair(text, left, next[left]);
    }

    for (let i = 0; i !== -1; i = next[i]) {
      if (id[i] >= 0 && !vocab.isUnused(id[i])) {
        out.ids.push(id[i]);
        out.starts.push(start[i] + offset);
        out.ends.push(start[i] + length[i] + offset);
      } else {
        this.resegment(text.substr(start[i], length[i]), start[i] + offset, out);
      }
    }
  }

  /** Queues the merge of adjacent symbols if their concatenation is a vocabulary piece. */
  private maybeAddPair(text: string, left: number, right: number): void {
    const { start, length, id, frozen, vocab } = this;
    if (left === -1 || right === -1 || frozen[left] === 1 || frozen[right] === 1) return;
    const size = length[left] + length[right];
    // Both sides known: the pair table answers. Otherwise (a character outside the
    // vocabulary) look the concatenation up as sentencepiece does.
    const merged =
      id[left] >= 0 && id[right] >= 0
        ? vocab.mergedId(id[left], id[right])
        : vocab.mergeableId(text.substr(start[left], size));
    if (merged === -1) return;
    this.queue.push(vocab.score(merged), left, right, size, merged);
    if (vocab.isUnused(merged)) {
      this.reverseMerges ??= new Map();
      this.reverseMerges.set(text.substr(start[left], size), [
        text.substr(start[left], length[left]),
        text.substr(start[right], length[right]),
      ]);
    }
  }

  /** Emits `piece` at `at`, split back into its parts if it is an UNUSED piece. */
  private resegment(piece: string, at: number, out: BpeTokens): void {
    const pieceId = this.vocab.pieceToId(piece);
    const parts = this.vocab.isUnused(pieceId) ? this.reverseMerges?.get(piece) : undefined;
    if (parts === undefined) {
      out.ids.push(pieceId);
      out.starts.push(at);
      out.ends.push(at + piece.length);
      return;
    }
    this.resegment(parts[0], at, out);
    this.resegment(parts[1], at + parts[0].length, out);
  }

  private ensureCapacity(n: number): void {
    if (this.start.length >= n) return;
    const size = Math.max(n, 2 * this.start.length, 64);
    this.start = new Int32Array(size);
    this.length = new Int32Array(size);
    this.prev = new Int32Array(size);
    this.next = new Int32Array(size);
    this.id = new Int32Array(size);
    this.frozen = new Uint8Array(size);
  }
}

function codePointLength(text: string, pos: number): number {
  const unit = text.charCodeAt(pos);
  if (unit >= 0xd800 && unit <= 0xdbff && pos + 1 < text.length) {
    const low = text.charCodeAt(pos + 1);
    if (low >= 0xdc00 && low <= 0xdfff) return 2;
  }
  return 1;
}
