// The top-activating contexts of every expert, kept while the atlas build routes its
// corpus: per routing group and expert, the K tokens with the highest score
// Σ_h g1[h,i]·g2[h,j], at most one per file (so that one file repeating a construct does
// not fill an expert's list), best first. A token is a reference into the build's token
// table (expert-stats.ts), never text.
//
// Memory: per group E²·K × (4 + 4 + 4) bytes (score, token, file): 12.6 MB for the demo
// model's 2 groups with K = 4, 37.7 MB for the 1.4B model's 6.

export class TopContexts {
  /** Per group, E²·K scores, each expert's K best first; 0 = empty slot. */
  readonly score: Float32Array[];
  /** Per group, E²·K token references (valid where score > 0). */
  readonly token: Uint32Array[];
  private readonly doc: Uint32Array[];

  constructor(
    readonly groups: number,
    readonly cells: number,
    readonly k: number,
  ) {
    if (!Number.isInteger(k) || k < 1 || k > 64)
      throw new RangeError(`contexts per expert must be 1–64, got ${k}`);
    this.score = Array.from({ length: groups }, () => new Float32Array(cells * k));
    this.token = Array.from({ length: groups }, () => new Uint32Array(cells * k));
    this.doc = Array.from({ length: groups }, () => new Uint32Array(cells * k));
  }

  /** Offers token `token` of file `doc` with score `value` (> 0) to expert `e` of group `g`. */
  offer(g: number, e: number, value: number, token: number, doc: number): void {
    const K = this.k;
    const base = e * K;
    const score = this.score[g]!;
    const v = Math.fround(value);
    if (v <= score[base + K - 1]!) return; // the common case: not among the best
    const tok = this.token[g]!;
    const docs = this.doc[g]!;
    // The slot this entry replaces: the same file's entry if there is one, else the last.
    let from = K - 1;
    for (let k = 0; k < K; k++) {
      if (score[base + k]! > 0 && docs[base + k] === doc) {
        if (score[base + k]! >= v) return;
        from = k;
        break;
      }
    }
    let at = from;
    while (at > 0 && score[base + at - 1]! < v) {
      score[base + at] = score[base + at - 1]!;
      tok[base + at] = tok[base + at - 1]!;
      docs[base + at] = docs[base + at - 1]!;
      at--;
    }
    score[base + at] = v;
    tok[base + at] = token;
    docs[base + at] = doc;
  }
}
