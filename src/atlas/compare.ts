// Where experts went between two atlases of one model (e.g. without and with a control
// class): for every class of the first, how many of its experts the second gives to each
// of its classes or to none, summed over routing groups.
import { type Atlas, atlasClasses, classSets } from "./atlas-file";

export interface AtlasMoves {
  from: string[];
  to: string[];
  /** moves[f][t]: experts of from[f] in the first atlas owned by to[t] in the second; the last column is "none". */
  moves: number[][];
  /** Experts per class of the second atlas that no class of the first owned. */
  fresh: number[];
}

export function compareAtlases(a: Atlas, b: Atlas): AtlasMoves {
  if (a.model.fingerprint !== b.model.fingerprint)
    throw new Error(`the atlases are for different models (${a.model.name}, ${b.model.name})`);
  const E = a.model.config.moeExperts;
  const from = atlasClasses(a);
  const to = atlasClasses(b);
  const moves = from.map(() => new Array<number>(to.length + 1).fill(0));
  const fresh = new Array<number>(to.length).fill(0);
  for (let g = 0; g < a.model.config.routingGroups; g++) {
    const owner = new Int16Array(E * E).fill(-1);
    to.forEach((cls, t) => {
      for (const e of classSets(b, cls)![g]!) owner[e] = t;
    });
    const before = new Uint8Array(E * E);
    from.forEach((cls, f) => {
      for (const e of classSets(a, cls)![g]!) {
        before[e] = 1;
        const t = owner[e]!;
        moves[f]![t < 0 ? to.length : t]!++;
      }
    });
    to.forEach((cls, t) => {
      for (const e of classSets(b, cls)![g]!) if (!before[e]) fresh[t]!++;
    });
  }
  return { from, to, moves, fresh };
}

/** The moves as a Markdown table (rows: first atlas's classes; columns: second's, then none). */
export function movesTable(m: AtlasMoves): string {
  const head = `| before \\ after | ${m.to.join(" | ")} | none |`;
  const rule = `|---|${m.to.map(() => "---:").join("|")}|---:|`;
  const rows = m.from.map((f, i) => `| ${f} | ${m.moves[i]!.join(" | ")} |`);
  const fresh = `| (no class before) | ${m.fresh.join(" | ")} | |`;
  return [head, rule, ...rows, fresh].join("\n");
}
