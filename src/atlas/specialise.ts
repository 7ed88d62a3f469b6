// The paper's rule (monet-math.md, "Language-specialised experts"): expert (i, j) of a
// group is specialised in language A when A's mean routing score for it is at least
// `ratio` times the second-highest language's. Made precise here:
//   - A must be the single highest language (a tie at the top labels nobody) and its
//     score must be > 0;
//   - with one language only, the second-highest score is 0.
// Languages arrive one at a time and only each expert's two best scores are kept, so
// memory does not grow with the number of languages: per group E² × (8 + 8 + 2) bytes
// (4.7 MB per group for E = 512).

export class TopTwo {
  private readonly best: Float64Array[];
  private readonly second: Float64Array[];
  private readonly bestLang: Int16Array[];
  private readonly names: string[] = [];

  constructor(
    readonly groups: number,
    readonly cells: number,
  ) {
    this.best = Array.from({ length: groups }, () => new Float64Array(cells));
    this.second = Array.from({ length: groups }, () => new Float64Array(cells));
    this.bestLang = Array.from({ length: groups }, () => new Int16Array(cells).fill(-1));
  }

  get languages(): readonly string[] {
    return this.names;
  }

  /** Adds one language's mean scores (per group, `cells` values each). */
  offer(language: string, means: ArrayLike<number>[]): void {
    if (this.names.includes(language)) throw new Error(`language ${language} was offered twice`);
    if (this.names.length >= 0x7fff) throw new Error("too many languages");
    if (means.length !== this.groups)
      throw new Error(`${language}: ${means.length} groups of scores, expected ${this.groups}`);
    means.forEach((m, g) => {
      if (m.length !== this.cells)
        throw new Error(`${language}: group ${g} has ${m.length} scores, expected ${this.cells}`);
    });
    const l = this.names.push(language) - 1;
    for (let g = 0; g < this.groups; g++) {
      const m = means[g]!;
      const best = this.best[g]!;
      const second = this.second[g]!;
      const who = this.bestLang[g]!;
      for (let e = 0; e < this.cells; e++) {
        const v = m[e]!;
        if (v > best[e]!) {
          second[e] = best[e]!;
          best[e] = v;
          who[e] = l;
        } else if (v > second[e]!) {
          second[e] = v; // includes a tie with the best: then nobody is specialised
        }
      }
    }
  }

  /**
   * The specialised experts per language and group: sorted flat indices e = i·E + j.
   * `ratio` ≥ 1 (below 1 the rule would no longer pick one language per expert).
   */
  specialised(ratio: number): Map<string, Uint32Array[]> {
    if (!(ratio >= 1) || !Number.isFinite(ratio))
      throw new RangeError(`the ratio must be a number ≥ 1, got ${ratio}`);
    const out = new Map<string, Uint32Array[]>();
    const lists = this.names.map(() => Array.from({ length: this.groups }, () => [] as number[]));
    for (let g = 0; g < this.groups; g++) {
      const best = this.best[g]!;
      const second = this.second[g]!;
      const who = this.bestLang[g]!;
      for (let e = 0; e < this.cells; e++) {
        const b = best[e]!;
        if (b > 0 && b > second[e]! && b >= ratio * second[e]!) lists[who[e]!]![g]!.push(e);
      }
    }
    this.names.forEach((name, l) => {
      out.set(
        name,
        lists[l]!.map((x) => Uint32Array.from(x)),
      );
    });
    return out;
  }
}

/** The rule on whole arrays: means[language][group][e]. */
export function specialise(
  means: ReadonlyMap<string, ArrayLike<number>[]>,
  ratio: number,
): Map<string, Uint32Array[]> {
  const first = [...means.values()][0];
  if (!first) return new Map();
  const top = new TopTwo(first.length, first[0]?.length ?? 0);
  for (const [lang, m] of means) top.offer(lang, m);
  return top.specialised(ratio);
}
