// An expert of a Monet model: routing group g and half-experts (i, j) — the product of
// half-expert i (g1) and half-expert j (g2), across heads — written gG:I:J (e.g.
// g0:359:356), and the atlas class that owns it.
import { type Atlas, AtlasError, atlasClasses, classSets } from "./atlas-file";

/** An expert: routing group `group`, half-experts `i` (g1) and `j` (g2). */
export interface ExpertId {
  group: number;
  i: number;
  j: number;
}

/** "g0:359:356" → {group 0, i 359, j 356}; checked against the model's shape when given. */
export function parseExpertId(text: string, shape?: { groups: number; experts: number }): ExpertId {
  const m = /^g(\d+):(\d+):(\d+)$/.exec(text.trim());
  if (!m) throw new AtlasError(`"${text}" is not an expert id: write gGROUP:I:J, e.g. g0:359:356`);
  const [group, i, j] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (shape && (group >= shape.groups || i >= shape.experts || j >= shape.experts))
    throw new AtlasError(
      `no expert ${text} in this model: groups 0–${shape.groups - 1}, half-experts 0–${shape.experts - 1}`,
    );
  return { group, i, j };
}

export function formatExpertId(x: ExpertId): string {
  return `g${x.group}:${x.i}:${x.j}`;
}

/** The class that owns the expert in the atlas, if any. */
export function expertOwner(atlas: Atlas, x: ExpertId): { id: string; kind: "language" | "control" } | null {
  const e = x.i * atlas.model.config.moeExperts + x.j;
  for (const id of atlasClasses(atlas)) {
    const set = classSets(atlas, id)![x.group]!;
    if (binarySearch(set, e)) return { id, kind: atlas.controls.includes(id) ? "control" : "language" };
  }
  return null;
}

function binarySearch(sorted: ArrayLike<number>, v: number): boolean {
  let lo = 0;
  let hi = sorted.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const x = sorted[mid]!;
    if (x === v) return true;
    if (x < v) lo = mid + 1;
    else hi = mid - 1;
  }
  return false;
}
