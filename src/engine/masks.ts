// Expert masks as the graph takes them: one E×E 0/1 matrix per routing group
// (M[i, j] = 1 masks expert (i, j)), plus a key that identifies the mask state, since
// cached keys and values computed under one mask are wrong under another.
import { createHash } from "node:crypto";
import { FileAccessError, readRegularText } from "../files/regular-file";

/** Most bytes a mask file may have (every expert of 6 groups of 512×512: about 12 MB). */
export const MASK_FILE_MAX_BYTES = 64 << 20;

export interface ExpertMasks {
  /** Per routing group, E×E row-major, 1 = masked. */
  groups: Float32Array[];
  experts: number;
  /** Stable identity of this mask state ("" when nothing is masked). */
  key: string;
  /** What is masked, for people (e.g. "python, lua"). */
  label: string;
}

export function noMasks(groups: number, experts: number): ExpertMasks {
  return {
    groups: Array.from({ length: groups }, () => new Float32Array(experts * experts)),
    experts,
    key: "",
    label: "",
  };
}

/** Builds masks from, per group, the flat indices e = i·E + j of the masked experts. */
export function masksFromExperts(perGroup: ArrayLike<number>[], experts: number, label: string): ExpertMasks {
  const hash = createHash("sha256");
  const groups = Array.from(perGroup, (ids, g) => {
    const m = new Float32Array(experts * experts);
    const sorted = Uint32Array.from(ids as ArrayLike<number>).sort();
    for (const e of sorted) {
      if (e >= m.length)
        throw new RangeError(`expert index ${e} is out of range for ${experts}×${experts} experts`);
      m[e] = 1;
    }
    hash.update(`g${g}:`).update(new Uint8Array(sorted.buffer));
    return m;
  });
  const any = groups.some((m) => m.some((v) => v !== 0));
  return { groups, experts, key: any ? hash.digest("hex").slice(0, 24) : "", label: any ? label : "" };
}

/**
 * A mask file (before the atlas exists, and for experiments): JSON
 * `{"experts": E, "groups": [[e, ...], ...]}` with flat indices e = i·E + j per group.
 */
export function readMaskFile(path: string, groupCount: number, experts: number): ExpertMasks {
  let json: unknown;
  try {
    json = JSON.parse(readRegularText(path, { maxBytes: MASK_FILE_MAX_BYTES, what: "mask file" }));
  } catch (e) {
    throw new Error(
      `${path}: cannot read the mask file (${e instanceof FileAccessError ? e.reason : (e as Error).message}); it must be JSON {"experts": E, "groups": [[flat indices], ...]}`,
    );
  }
  const o = json as { experts?: unknown; groups?: unknown };
  if (
    o.experts !== experts ||
    !Array.isArray(o.groups) ||
    o.groups.length !== groupCount ||
    !o.groups.every(
      (g) => Array.isArray(g) && g.every((e) => Number.isInteger(e) && e >= 0 && e < experts * experts),
    )
  ) {
    throw new Error(
      `${path}: expected {"experts": ${experts}, "groups": [${groupCount} arrays of expert indices in [0, ${experts * experts})]} for this model`,
    );
  }
  return masksFromExperts(o.groups as number[][], experts, `mask file ${path}`);
}
