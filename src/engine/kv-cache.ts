// The attention key/value cache of one sequence, with the tokens it holds, so that a new
// prompt that extends (or shares a prefix with) the last one reuses the computed part.
//
// Two layouts, one per attention form of the graph:
//   - exact: tensors [1, kvH, P, hd] hold exactly the P cached tokens; the graph reads P from
//     their shape and returns the whole, longer cache (portable attention);
//   - padded: tensors [1, kvH, C, hd] with room for C ≥ P tokens; the graph is told P
//     (`past_length`) and returns only the keys and values of the new tokens, which are
//     written into the buffers here (padded attention: src/model/attention.ts). onnxruntime-node
//     copies every output into a new JavaScript array, so returning the whole cache each
//     decoding step cost time in proportion to the context (about 11 ms per token at 768
//     tokens for the demo model). So the buffers are inputs only: float32 graphs read them
//     where they lie, and nothing passes them back.
import * as ort from "./ort";

export interface CacheShape {
  numLayers: number;
  numKvHeads: number;
  headDim: number;
  /** Element type of the cached keys and values (the graph's dtype; default float32). */
  dtype?: "float32" | "float16";
}

type Buffer = Float32Array | Uint16Array;

export class KvCache {
  private constructor(
    readonly shape: CacheShape,
    /** Tokens whose keys and values are cached, in order. */
    readonly tokens: readonly number[],
    /** [1, kvH, P or C, hd] per layer: keys then values. */
    readonly keys: readonly ort.Tensor[],
    readonly values: readonly ort.Tensor[],
    /** The tensors may be longer than the tokens (the padded layout). */
    readonly padded: boolean,
  ) {}

  static empty(shape: CacheShape): KvCache {
    const none = tensor(shape, alloc(shape, 0), 0);
    return new KvCache(
      shape,
      [],
      Array(shape.numLayers).fill(none),
      Array(shape.numLayers).fill(none),
      false,
    );
  }

  /** Exact layout: the tensors hold exactly `tokens`. */
  static of(shape: CacheShape, tokens: readonly number[], keys: ort.Tensor[], values: ort.Tensor[]): KvCache {
    return new KvCache(shape, tokens, keys, values, false);
  }

  get length(): number {
    return this.tokens.length;
  }

  /** Positions the tensors have room for. */
  get capacity(): number {
    return Number(this.keys[0]?.dims[2] ?? 0);
  }

  /** Length of the longest common prefix of the cached tokens and `ids`. */
  commonPrefix(ids: readonly number[]): number {
    const n = Math.min(this.tokens.length, ids.length);
    let i = 0;
    while (i < n && this.tokens[i] === ids[i]) i++;
    return i;
  }

  /** The cache cut to its first `n` tokens (exact layout: copies; padded: the same buffers). */
  truncate(n: number): KvCache {
    if (n >= this.tokens.length) return this;
    if (this.padded) return new KvCache(this.shape, this.tokens.slice(0, n), this.keys, this.values, true);
    if (n === 0) return KvCache.empty(this.shape);
    const cut = (t: ort.Tensor) =>
      tensor(this.shape, copyPositions(this.shape, t.data as Buffer, this.capacity, n, n), n);
    return new KvCache(this.shape, this.tokens.slice(0, n), this.keys.map(cut), this.values.map(cut), false);
  }

  /**
   * The same cache in the padded layout with room for at least `need` positions (at most
   * `max`): these buffers when they are padded and large enough, else new ones holding a copy
   * of the valid prefix. A new cache gets `need` rounded up to 64 positions (callers ask for
   * the generation's end: runner.ts `reserve`); a cache that must grow at least doubles, so
   * that a growing context (typing) rarely reallocates. (The 1.4B's float32 cache holds 0.4 MB
   * per position, its quantized graphs' float16 one 0.2 MB: doubling a 512-position float32
   * cache for its 513th token cost 400 MB, hence no doubling on first allocation.)
   */
  withRoom(need: number, max: number): KvCache {
    if (this.padded && this.capacity >= need) return this;
    const grown = this.padded && this.capacity > 0 ? 2 * this.capacity : 0;
    const cap = Math.min(max, Math.ceil(Math.max(need, grown) / 64) * 64);
    const P = this.tokens.length;
    const grow = (t: ort.Tensor) =>
      tensor(this.shape, copyPositions(this.shape, t.data as Buffer, this.capacity, P, cap), cap);
    return new KvCache(this.shape, this.tokens, this.keys.map(grow), this.values.map(grow), true);
  }

  /**
   * Padded layout: writes the keys and values of `ids` ([1, kvH, T, hd] per layer) after the
   * cached tokens, in place, and returns the cache that holds them. The buffers are shared:
   * this cache's own tokens stay valid, later positions are overwritten.
   */
  append(ids: readonly number[], newKeys: readonly ort.Tensor[], newValues: readonly ort.Tensor[]): KvCache {
    const P = this.tokens.length;
    const T = ids.length;
    if (!this.padded || P + T > this.capacity)
      throw new Error(`no room to append ${T} tokens to a cache of ${P} (capacity ${this.capacity})`);
    const { numKvHeads: kvH, headDim: hd } = this.shape;
    const C = this.capacity;
    const write = (dst: ort.Tensor, src: ort.Tensor) => {
      const d = dst.data as Buffer;
      const s = src.data as Buffer;
      for (let h = 0; h < kvH; h++)
        d.set(s.subarray(h * T * hd, (h + 1) * T * hd) as never, (h * C + P) * hd);
    };
    this.keys.forEach((k, l) => {
      write(k, newKeys[l]!);
    });
    this.values.forEach((v, l) => {
      write(v, newValues[l]!);
    });
    return new KvCache(this.shape, [...this.tokens, ...ids], this.keys, this.values, true);
  }
}

function alloc(shape: CacheShape, positions: number): Buffer {
  const n = shape.numKvHeads * positions * shape.headDim;
  return shape.dtype === "float16" ? new Uint16Array(n) : new Float32Array(n);
}

function tensor(shape: CacheShape, data: Buffer, positions: number): ort.Tensor {
  const dims = [1, shape.numKvHeads, positions, shape.headDim];
  return data instanceof Uint16Array
    ? new ort.Tensor("float16", data, dims)
    : new ort.Tensor("float32", data, dims);
}

/** The first `keep` positions of each head of a [1, kvH, from, hd] buffer, in a new [1, kvH, to, hd] one. */
function copyPositions(shape: CacheShape, src: Buffer, from: number, keep: number, to: number): Buffer {
  const { numKvHeads: kvH, headDim: hd } = shape;
  const out = alloc(shape, to);
  for (let h = 0; h < kvH; h++)
    out.set(src.subarray(h * from * hd, h * from * hd + keep * hd) as never, h * to * hd);
  return out;
}
