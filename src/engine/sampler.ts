// Next-token choice: greedy at temperature 0, else temperature + nucleus (top-p) sampling
// from a seeded generator, so that a seed always gives the same completion.

/** mulberry32: a small, fast, well-distributed 32-bit PRNG; enough for sampling. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface SamplingOptions {
  /** 0 = greedy. */
  temperature: number;
  /** Nucleus mass in (0, 1]; 1 = no cut. */
  topP: number;
  seed: number;
}

export function argmax(logits: ArrayLike<number>): number {
  let best = 0;
  let bestValue = -Infinity;
  for (let i = 0; i < logits.length; i++) {
    const v = logits[i]!;
    if (v > bestValue) {
      bestValue = v;
      best = i;
    }
  }
  return best;
}

export class Sampler {
  private readonly random: () => number;

  constructor(private readonly opts: SamplingOptions) {
    if (!(opts.temperature >= 0)) throw new RangeError(`temperature must be ≥ 0, got ${opts.temperature}`);
    if (!(opts.topP > 0 && opts.topP <= 1)) throw new RangeError(`top-p must be in (0, 1], got ${opts.topP}`);
    this.random = seededRandom(opts.seed);
  }

  next(logits: ArrayLike<number>): number {
    if (this.opts.temperature === 0) return argmax(logits);
    const t = this.opts.temperature;
    const n = logits.length;
    let max = -Infinity;
    for (let i = 0; i < n; i++) max = Math.max(max, logits[i]!);
    const probs = new Float64Array(n);
    let sum = 0;
    for (let i = 0; i < n; i++) {
      const p = Math.exp((logits[i]! - max) / t);
      probs[i] = p;
      sum += p;
    }
    // Candidates in descending probability until the nucleus mass is reached.
    const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => probs[b]! - probs[a]! || a - b);
    const cut = this.opts.topP * sum;
    let kept = 0;
    let mass = 0;
    while (kept < n && (kept === 0 || mass < cut)) mass += probs[order[kept++]!]!;
    let r = this.random() * mass;
    for (let k = 0; k < kept; k++) {
      r -= probs[order[k]!]!;
      if (r <= 0) return order[k]!;
    }
    return order[kept - 1]!;
  }
}
