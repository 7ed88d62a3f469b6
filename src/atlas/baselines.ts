// A class's baseline: the mean share of a token's routing mass held by the class's experts
// over the whole atlas corpus, all classes' tokens pooled. A token's mass per group is
// Σ_h Σ_{i,j} g1[h,i]·g2[h,j] = H exactly (each head's g1 and g2 sum to 1), so its share in
// a set S is (1/H)·Σ_{e∈S} Σ_h g[h,e], which is linear in the expert scores: the mean share
// over any tokens is (1/H)·Σ_{e∈S} P[e], with P the experts' mean scores over those tokens.
// One pooled mean per expert and group therefore gives every class's baseline.

/** Per class, per group: (1/H)·Σ_{e ∈ set} pooledMeans[g][e]. */
export function classBaselines(
  sets: ReadonlyMap<string, readonly ArrayLike<number>[]>,
  pooledMeans: readonly ArrayLike<number>[],
  heads: number,
): Map<string, number[]> {
  const out = new Map<string, number[]>();
  for (const [cls, perGroup] of sets) {
    out.set(
      cls,
      pooledMeans.map((p, g) => {
        const set = perGroup[g]!;
        let s = 0;
        for (let k = 0; k < set.length; k++) s += p[set[k]!]!;
        return s / heads;
      }),
    );
  }
  return out;
}

/** The baseline of the mean over groups (what route's `shares` average): the mean of the groups' baselines. */
export function meanBaseline(perGroup: readonly number[]): number {
  return perGroup.length ? perGroup.reduce((a, b) => a + b, 0) / perGroup.length : 0;
}
