// How far a provider's logits are from the reference's: the largest absolute difference,
// and whether the top-1 token agrees (everywhere, and where the reference is decisive).
import { maxAbsDiff } from "../fixture-file";

export interface Comparison {
  max_abs: number;
  /** Share of positions whose top-1 token agrees with the reference's. */
  top1_agreement: number;
  /** Positions whose reference top-1 margin exceeds `decisiveMargin`, and how many of them disagree. */
  decisive_positions: number;
  decisive_disagreements: number;
  positions: number;
}

export function compareLogits(
  ours: Float32Array,
  ref: Float32Array,
  vocab: number,
  decisiveMargin: number,
): Comparison {
  const positions = ref.length / vocab;
  let agree = 0;
  let decisive = 0;
  let decisiveWrong = 0;
  for (let t = 0; t < positions; t++) {
    const r = ref.subarray(t * vocab, (t + 1) * vocab);
    const [best, margin] = topWithMargin(r);
    const same = topWithMargin(ours.subarray(t * vocab, (t + 1) * vocab))[0] === best;
    if (same) agree++;
    if (margin > decisiveMargin) {
      decisive++;
      if (!same) decisiveWrong++;
    }
  }
  return {
    max_abs: maxAbsDiff(ours, ref),
    top1_agreement: positions ? agree / positions : 1,
    decisive_positions: decisive,
    decisive_disagreements: decisiveWrong,
    positions,
  };
}

/** Index of the largest value and its lead over the second largest. */
function topWithMargin(row: Float32Array): [number, number] {
  let best = 0;
  let first = -Infinity;
  let second = -Infinity;
  for (let i = 0; i < row.length; i++) {
    const v = row[i]!;
    if (v > first) {
      second = first;
      first = v;
      best = i;
    } else if (v > second) second = v;
  }
  return [best, first - second];
}

/** Worst of several comparisons (largest error, lowest agreement, counts summed). */
export function worst(all: Comparison[]): Comparison {
  const positions = all.reduce((n, c) => n + c.positions, 0);
  return {
    max_abs: Math.max(0, ...all.map((c) => c.max_abs)),
    top1_agreement: positions ? all.reduce((n, c) => n + c.top1_agreement * c.positions, 0) / positions : 1,
    decisive_positions: all.reduce((n, c) => n + c.decisive_positions, 0),
    decisive_disagreements: all.reduce((n, c) => n + c.decisive_disagreements, 0),
    positions,
  };
}
