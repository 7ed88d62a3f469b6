// Steering: each expert (i, j) of a routing group gets a scale S[i, j] ≥ 0 (0 masks it, 1
// leaves it alone, above 1 amplifies it), and its routing score g1[h,i]·g2[h,j] is
// multiplied by it (monet-math.md, "Steering"; masking is the case S = 0). A Steering holds
// only the experts whose scale is not 1, per routing group, in one canonical form (sorted
// flat indices e = i·E + j, no repeats, scales as float32), so that equal content has equal
// `key`: the one key that caches depend on (the engine's KV cache, the runner's graph
// inputs, the extension). The graph takes M = 1 − S as a dense E×E matrix per group; the
// runner builds it from this sparse form (src/engine/runner.ts).
import { createHash } from "node:crypto";
import { FileAccessError, readRegularText } from "../files/regular-file";

/** Most bytes a mask file may have (every expert of 6 groups of 512×512: about 12 MB). */
export const MASK_FILE_MAX_BYTES = 64 << 20;

/** One routing group: the steered experts' flat indices (sorted, unique) and their scales (≥ 0, ≠ 1). */
export interface GroupSteering {
  readonly indices: readonly number[];
  readonly scales: readonly number[];
}

export interface Steering {
  /** E: experts on each side of the router; expert (i, j) has the flat index i·E + j. */
  readonly experts: number;
  /** One entry per routing group. */
  readonly groups: readonly GroupSteering[];
  /** A hash of the content; "" when no expert is steered. */
  readonly key: string;
  /** What is steered, for people ("−python, −lua"); never part of the key. */
  readonly label: string;
}

/** The engine protocol's form: plain arrays; the engine process recomputes the key. */
export type SteeringWire = Pick<Steering, "experts" | "groups" | "label">;

/** Nothing steered. */
export function noSteering(groups: number, experts: number): Steering {
  return {
    experts,
    groups: Array.from({ length: groups }, () => ({ indices: [], scales: [] })),
    key: "",
    label: "",
  };
}

/**
 * Steering from (flat index, scale) pairs per routing group. An expert listed more than once
 * gets the product of its scales; experts whose scale is 1 (as float32) are left out.
 */
export function steeringFromScaledExperts(
  perGroup: ReadonlyArray<Iterable<readonly [index: number, scale: number]>>,
  experts: number,
  label: string,
): Steering {
  if (!Number.isInteger(experts) || experts < 1) throw new RangeError(`invalid expert count ${experts}`);
  const cells = experts * experts;
  const groups = perGroup.map((pairs, g) => {
    const scales = new Map<number, number>();
    for (const [e, s] of pairs) {
      if (!Number.isInteger(e) || e < 0 || e >= cells)
        throw new RangeError(
          `group ${g}: expert index ${e} is out of range for ${experts}×${experts} experts`,
        );
      if (!Number.isFinite(s) || s < 0)
        throw new RangeError(`group ${g}: expert ${e} has scale ${s}; scales are finite and ≥ 0`);
      scales.set(e, Math.fround((scales.get(e) ?? 1) * s));
    }
    const indices = [...scales.keys()].filter((e) => scales.get(e) !== 1).sort((a, b) => a - b);
    return { indices, scales: indices.map((e) => scales.get(e)!) };
  });
  const key = steeringKey(experts, groups);
  return { experts, groups, key, label: key ? label : "" };
}

/**
 * Steering that gives every listed expert (flat indices per group) one scale: 0, the default,
 * masks them. An expert listed twice is still scaled once.
 */
export function steeringFromIndexLists(
  perGroup: ReadonlyArray<ArrayLike<number>>,
  experts: number,
  label: string,
  scale = 0,
): Steering {
  return steeringFromScaledExperts(
    perGroup.map((ids) => [...new Set(Array.from(ids))].map((e) => [e, scale] as const)),
    experts,
    label,
  );
}

/** The content hash: experts, then per group the indices (uint32) and the float32 scales. */
function steeringKey(experts: number, groups: readonly GroupSteering[]): string {
  if (groups.every((g) => g.indices.length === 0)) return "";
  const hash = createHash("sha256").update(`monet-lens steering v1 E=${experts} G=${groups.length}`);
  groups.forEach((g, k) => {
    hash.update(`|g${k}:${g.indices.length}:`);
    hash.update(new Uint8Array(Uint32Array.from(g.indices).buffer));
    hash.update(new Uint8Array(Float32Array.from(g.scales).buffer));
  });
  return hash.digest("hex").slice(0, 24);
}

/** The protocol's form of `s`; undefined when nothing is steered (which never travels). */
export function steeringToWire(s: Steering | undefined): SteeringWire | undefined {
  return s?.key ? { experts: s.experts, groups: s.groups, label: s.label } : undefined;
}

/**
 * Steering received over the engine protocol, checked against the running model (group
 * count, expert count, indices in range, scales finite and ≥ 0), with its key recomputed
 * from the content.
 */
export function steeringFromWire(wire: unknown, expect: { groups: number; experts: number }): Steering {
  const w = wire as Partial<SteeringWire> | null;
  const bad = (why: string): never => {
    throw new Error(`invalid steering from the caller: ${why}`);
  };
  if (typeof w !== "object" || w === null) return bad("not an object");
  if (w.experts !== expect.experts) return bad(`${w.experts} experts, the model has ${expect.experts}`);
  if (!Array.isArray(w.groups) || w.groups.length !== expect.groups)
    return bad(`${Array.isArray(w.groups) ? w.groups.length : "no"} groups, the model has ${expect.groups}`);
  const pairs = w.groups.map((g, k) => {
    const { indices, scales } = (g ?? {}) as Partial<GroupSteering>;
    if (!Array.isArray(indices) || !Array.isArray(scales) || indices.length !== scales.length)
      return bad(`group ${k} needs indices and scales of one length`);
    return indices.map((e, n) => [e, scales[n]] as [number, number]);
  });
  try {
    return steeringFromScaledExperts(pairs, expect.experts, typeof w.label === "string" ? w.label : "");
  } catch (e) {
    return bad((e as Error).message);
  }
}

/** S for routing group `g` as a dense E×E row-major matrix (1 where nothing is steered). */
export function scaleMatrix(s: Steering, g: number): Float32Array {
  const m = new Float32Array(s.experts * s.experts).fill(1);
  const group = s.groups[g];
  group?.indices.forEach((e, n) => {
    m[e] = group.scales[n]!;
  });
  return m;
}

/**
 * A mask file (before the atlas exists, and for experiments): JSON
 * `{"experts": E, "groups": [[e, ...], ...]}` with flat indices e = i·E + j per group.
 */
export function readSteeringFile(path: string, groupCount: number, experts: number): Steering {
  let json: unknown;
  try {
    json = JSON.parse(readRegularText(path, { maxBytes: MASK_FILE_MAX_BYTES, what: "mask file" }));
  } catch (e) {
    throw new Error(
      `${path}: cannot read the mask file (${e instanceof FileAccessError ? e.reason : (e as Error).message}); ` +
        'it must be JSON {"experts": E, "groups": [[flat indices], ...]}',
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
      `${path}: expected {"experts": ${experts}, "groups": [${groupCount} arrays of expert indices ` +
        `in [0, ${experts * experts})]} for this model`,
    );
  }
  return steeringFromIndexLists(o.groups as number[][], experts, `mask file ${path}`);
}
