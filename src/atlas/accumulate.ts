// Routing mass per expert over the tokens of one language: for every routing group,
// S[i·E + j] = Σ_tokens Σ_h g1[h,i]·g2[h,j] (monet-math.md, "Language-specialised
// experts"). g1 and g2 are exactly 0 outside the experts the router keeps (about moe_topk
// per head and side), so each token and head touches only kept×kept cells.
//
// Memory: one Float64Array(E²) per group, 2 MiB per group for E = 512 (12.6 MB for the
// 1.4B model's 6 groups). The build keeps one language's sums at a time; the rule needs
// only each expert's two best languages so far (see specialise.ts).
//
// With a TopContexts, it also offers each token's per-expert score (summed over heads) to
// the expert's top-activating contexts: the token's scores are gathered in a scratch array
// first (a few thousand cells per token), then added to the sums and offered.
import type { TopContexts } from "./top-contexts";

export interface RoutingArrays {
  /** Per routing group, [T, H, E] row-major. */
  g1: ArrayLike<number>[];
  g2: ArrayLike<number>[];
}

export class RoutingAccumulator {
  readonly sums: Float64Array[];
  /** Tokens added. */
  tokens = 0;
  private readonly idx1: Int32Array;
  private readonly idx2: Int32Array;
  private readonly val1: Float64Array;
  private readonly val2: Float64Array;

  private readonly scratch: Float64Array | undefined;
  private readonly touched: Int32Array | undefined;

  constructor(
    readonly groups: number,
    readonly heads: number,
    readonly experts: number,
    private readonly contexts?: TopContexts,
  ) {
    this.sums = Array.from({ length: groups }, () => new Float64Array(experts * experts));
    this.idx1 = new Int32Array(experts);
    this.idx2 = new Int32Array(experts);
    this.val1 = new Float64Array(experts);
    this.val2 = new Float64Array(experts);
    if (contexts) {
      if (contexts.groups !== groups || contexts.cells !== experts * experts)
        throw new Error("the contexts index does not have the accumulator's shape");
      this.scratch = new Float64Array(experts * experts);
      this.touched = new Int32Array(experts * experts);
    }
  }

  /**
   * Adds tokens [from, T) of a routing (T = length / (H·E)). With a TopContexts, `refs`
   * names each token for it: `token(t)` its reference, `doc` the file it comes from.
   */
  add(routing: RoutingArrays, from = 0, refs?: { token: (t: number) => number; doc: number }): void {
    const { heads: H, experts: E } = this;
    if (routing.g1.length !== this.groups || routing.g2.length !== this.groups)
      throw new Error(`routing has ${routing.g1.length} groups, expected ${this.groups}`);
    const T = routing.g1[0]!.length / (H * E);
    if (!Number.isInteger(T)) throw new Error(`routing arrays are not [T, ${H}, ${E}]`);
    if (this.contexts) {
      if (!refs) throw new Error("token references are needed to keep top contexts");
      this.addWithContexts(routing, from, T, refs);
      this.tokens += Math.max(0, T - from);
      return;
    }
    for (let g = 0; g < this.groups; g++) {
      const g1 = routing.g1[g]!;
      const g2 = routing.g2[g]!;
      const sum = this.sums[g]!;
      for (let t = from; t < T; t++) {
        for (let h = 0; h < H; h++) {
          const base = (t * H + h) * E;
          const n1 = this.nonZero(g1, base, this.idx1, this.val1);
          const n2 = this.nonZero(g2, base, this.idx2, this.val2);
          for (let a = 0; a < n1; a++) {
            const row = this.idx1[a]! * E;
            const v = this.val1[a]!;
            for (let b = 0; b < n2; b++) sum[row + this.idx2[b]!]! += v * this.val2[b]!;
          }
        }
      }
    }
    this.tokens += Math.max(0, T - from);
  }

  private addWithContexts(
    routing: RoutingArrays,
    from: number,
    T: number,
    refs: { token: (t: number) => number; doc: number },
  ): void {
    const { heads: H, experts: E } = this;
    const scratch = this.scratch!;
    const touched = this.touched!;
    const contexts = this.contexts!;
    for (let g = 0; g < this.groups; g++) {
      const g1 = routing.g1[g]!;
      const g2 = routing.g2[g]!;
      const sum = this.sums[g]!;
      const last = contexts.score[g]!;
      const K = contexts.k;
      for (let t = from; t < T; t++) {
        let n = 0;
        for (let h = 0; h < H; h++) {
          const base = (t * H + h) * E;
          const n1 = this.nonZero(g1, base, this.idx1, this.val1);
          const n2 = this.nonZero(g2, base, this.idx2, this.val2);
          for (let a = 0; a < n1; a++) {
            const row = this.idx1[a]! * E;
            const v = this.val1[a]!;
            for (let b = 0; b < n2; b++) {
              const cell = row + this.idx2[b]!;
              if (scratch[cell] === 0) touched[n++] = cell;
              scratch[cell]! += v * this.val2[b]!;
            }
          }
        }
        const ref = refs.token(t);
        for (let k = 0; k < n; k++) {
          const cell = touched[k]!;
          const v = scratch[cell]!;
          scratch[cell] = 0;
          sum[cell]! += v;
          // Most tokens are not among an expert's best: test against its last kept score
          // here, and call offer() only for the few that are (a third of the build's time otherwise).
          if (v > last[cell * K + K - 1]!) contexts.offer(g, cell, v, ref, refs.doc);
        }
      }
    }
  }

  /** Mean mass per token, per group (P_lang of monet-math.md). */
  means(): Float64Array[] {
    const n = this.tokens;
    return this.sums.map((s) => (n === 0 ? new Float64Array(s.length) : s.map((v) => v / n)));
  }

  private nonZero(g: ArrayLike<number>, base: number, idx: Int32Array, val: Float64Array): number {
    let n = 0;
    for (let e = 0; e < this.experts; e++) {
      const v = g[base + e]!;
      if (v !== 0) {
        idx[n] = e;
        val[n++] = v;
      }
    }
    return n;
  }
}
