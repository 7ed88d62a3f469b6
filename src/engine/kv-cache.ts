// The attention key/value cache of one sequence, with the tokens it holds, so that a new
// prompt that extends (or shares a prefix with) the last one reuses the computed part.
import * as ort from "onnxruntime-node";

export interface CacheShape {
  numLayers: number;
  numKvHeads: number;
  headDim: number;
  /** Element type of the cached keys and values (the graph's dtype; default float32). */
  dtype?: "float32" | "float16";
}

export class KvCache {
  private constructor(
    readonly shape: CacheShape,
    /** Tokens whose keys and values are cached, in order. */
    readonly tokens: readonly number[],
    /** [1, kvH, P, hd] per layer: keys then values. */
    readonly keys: readonly ort.Tensor[],
    readonly values: readonly ort.Tensor[],
  ) {}

  static empty(shape: CacheShape): KvCache {
    const none = shape.dtype === "float16" ? new ort.Tensor("float16", new Uint16Array(0), [1, shape.numKvHeads, 0, shape.headDim]) : new ort.Tensor("float32", new Float32Array(0), [1, shape.numKvHeads, 0, shape.headDim]);
    return new KvCache(shape, [], Array(shape.numLayers).fill(none), Array(shape.numLayers).fill(none));
  }

  static of(shape: CacheShape, tokens: readonly number[], keys: ort.Tensor[], values: ort.Tensor[]): KvCache {
    return new KvCache(shape, tokens, keys, values);
  }

  get length(): number {
    return this.tokens.length;
  }

  /** Length of the longest common prefix of the cached tokens and `ids`. */
  commonPrefix(ids: readonly number[]): number {
    const n = Math.min(this.tokens.length, ids.length);
    let i = 0;
    while (i < n && this.tokens[i] === ids[i]) i++;
    return i;
  }

  /** The cache cut to its first `n` tokens (copies; the tensors are [1, kvH, P, hd]). */
  truncate(n: number): KvCache {
    if (n >= this.tokens.length) return this;
    if (n === 0) return KvCache.empty(this.shape);
    const { numKvHeads: kvH, headDim: hd } = this.shape;
    const P = this.tokens.length;
    const cut = (t: ort.Tensor) => {
      const src = t.data as Float32Array | Uint16Array;
      const out = src instanceof Uint16Array ? new Uint16Array(kvH * n * hd) : new Float32Array(kvH * n * hd);
      for (let h = 0; h < kvH; h++) out.set(src.subarray(h * P * hd, h * P * hd + n * hd) as never, h * n * hd);
      return out instanceof Uint16Array ? new ort.Tensor("float16", out, [1, kvH, n, hd]) : new ort.Tensor("float32", out, [1, kvH, n, hd]);
    };
    return new KvCache(this.shape, this.tokens.slice(0, n), this.keys.map(cut), this.values.map(cut));
  }
}
