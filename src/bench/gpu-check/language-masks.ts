// Mask sets the size of two languages of the shipped atlas, for speed runs on models that
// have no atlas (random weights): the same number of experts per routing group as the demo
// model's atlas labels Python and Lua (1.6–3.1 % of a group's experts each), chosen at
// random with a fixed seed. Masked speed depends on how many experts are masked, not which.
import { seededRandom } from "./adapter";

/**
 * Experts per routing group of Python and Lua in models/atlases/tiny-codemonet.atlas.json
 * (E = 512: 262,144 experts per group); test/bench/gpu-check.test.ts checks them against the file.
 */
export const ATLAS_LANGUAGE_SIZES: Readonly<Record<string, readonly number[]>> = {
  python: [3857, 6187],
  lua: [5556, 6129],
};
export const ATLAS_EXPERTS = 512;

/**
 * Per routing group, the sorted flat indices e = i·E + j of two disjoint language-sized sets
 * (their union is what masking both languages masks). Groups past the atlas's cycle its sizes.
 */
export function twoLanguageMaskSets(groups: number, experts: number, seed = 14): Uint32Array[] {
  const random = seededRandom(seed);
  const total = experts * experts;
  const scale = total / (ATLAS_EXPERTS * ATLAS_EXPERTS);
  return Array.from({ length: groups }, (_, g) => {
    const taken = new Set<number>();
    for (const sizes of Object.values(ATLAS_LANGUAGE_SIZES)) {
      const want = Math.min(total - taken.size, Math.round(sizes[g % sizes.length]! * scale));
      for (let n = 0; n < want; ) {
        const e = Math.floor(random() * total);
        if (!taken.has(e)) {
          taken.add(e);
          n++;
        }
      }
    }
    return Uint32Array.from(taken).sort();
  });
}

export const TWO_LANGUAGE_LABEL = `${Object.keys(ATLAS_LANGUAGE_SIZES).join("+")}-sized (seeded)`;
