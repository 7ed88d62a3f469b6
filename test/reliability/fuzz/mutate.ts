// Mutations for the property-based fuzz suite (fast-check): byte-level (flips, overwrites,
// truncations, inserted garbage, deletions) and JSON-level (any value at any path replaced by
// a value of another type, a huge or negative number, removed, or a key added). Run counts
// scale with FUZZ_RUNS (a multiplier, default 1); a failing case prints its seed and path,
// which fast-check's `seed` and `path` parameters replay.
import fc from "fast-check";

/** Runs for a suite: `base` × $FUZZ_RUNS. */
export function runs(base: number): number {
  const k = Number(process.env.FUZZ_RUNS ?? "1");
  return Math.max(1, Math.round(base * (Number.isFinite(k) && k > 0 ? k : 1)));
}

/** Most milliseconds one case may take: a slower case counts as a hang. */
export const CASE_MS = 2000;

export type ByteMutation =
  | { kind: "flip"; at: number; bit: number }
  | { kind: "set"; at: number; value: number }
  | { kind: "truncate"; at: number }
  | { kind: "insert"; at: number; bytes: Uint8Array }
  | { kind: "delete"; at: number; length: number };

/** Positions are fractions of the length, so one arbitrary fits inputs of any size; `focus` biases them to the start. */
const position = (focus: number) =>
  fc.oneof(
    { weight: 3, arbitrary: fc.double({ min: 0, max: focus, noNaN: true }) },
    { weight: 1, arbitrary: fc.double({ min: 0, max: 1, noNaN: true }) },
  );

export function byteMutations(focus = 1): fc.Arbitrary<ByteMutation[]> {
  const at = position(focus);
  const one: fc.Arbitrary<ByteMutation> = fc.oneof(
    fc.record({ kind: fc.constant("flip" as const), at, bit: fc.integer({ min: 0, max: 7 }) }),
    fc.record({
      kind: fc.constant("set" as const),
      at,
      value: fc.oneof(
        fc.constantFrom(0, 0xff, 0x7f, 0x80, 0x22, 0x7b, 0x7d, 0x5b, 0x2c, 0x3a),
        fc.integer({ min: 0, max: 255 }),
      ),
    }),
    fc.record({ kind: fc.constant("truncate" as const), at: fc.double({ min: 0, max: 1, noNaN: true }) }),
    fc.record({
      kind: fc.constant("insert" as const),
      at,
      bytes: fc.uint8Array({ minLength: 1, maxLength: 64 }),
    }),
    fc.record({ kind: fc.constant("delete" as const), at, length: fc.integer({ min: 1, max: 64 }) }),
  );
  return fc.array(one, { minLength: 1, maxLength: 4 });
}

export function applyBytes(input: Uint8Array, mutations: readonly ByteMutation[]): Buffer {
  let b = Buffer.from(input);
  for (const m of mutations) {
    const i = Math.min(b.length, Math.floor(m.at * b.length));
    switch (m.kind) {
      case "flip":
        if (i < b.length) b[i] = b[i]! ^ (1 << m.bit);
        break;
      case "set":
        if (i < b.length) b[i] = m.value;
        break;
      case "truncate":
        b = b.subarray(0, i);
        break;
      case "insert":
        b = Buffer.concat([b.subarray(0, i), m.bytes, b.subarray(i)]);
        break;
      case "delete":
        b = Buffer.concat([b.subarray(0, i), b.subarray(i + m.length)]);
        break;
    }
  }
  return b;
}

/**
 * Values that break parsers: other types, huge, negative, fractional, non-finite, deep. Each
 * draw is a fresh copy: constantFrom hands out the same `{}` and `[]` every time, and a case
 * that added a key into one would change (even make cyclic) the value every later case draws.
 */
export const nastyValue: fc.Arbitrary<unknown> = fc.oneof(
  fc
    .constantFrom(
      null,
      true,
      false,
      0,
      -0,
      -1,
      0.5,
      1e9,
      1e18,
      2 ** 31,
      2 ** 32,
      2 ** 53,
      2 ** 53 + 2,
      1e308,
      -1e308,
      Number.POSITIVE_INFINITY,
      Number.NaN,
      "",
      "1",
      "vertical",
      "__proto__",
      [],
      {},
      [1, 2],
      { a: 1 },
    )
    .map((v) => structuredClone(v)),
  fc.integer(),
  fc.double(),
  fc.string({ maxLength: 20 }),
  fc.jsonValue({ maxDepth: 3 }),
);

export type JsonMutation =
  | { kind: "replace"; pick: number; value: unknown }
  | { kind: "remove"; pick: number }
  | { kind: "add"; pick: number; key: string; value: unknown };

export function jsonMutations(keys: readonly string[] = []): fc.Arbitrary<JsonMutation[]> {
  const pick = fc.nat();
  const key =
    keys.length > 0
      ? fc.oneof(fc.constantFrom(...keys), fc.string({ maxLength: 12 }))
      : fc.string({ maxLength: 12 });
  return fc.array(
    fc.oneof(
      { weight: 6, arbitrary: fc.record({ kind: fc.constant("replace" as const), pick, value: nastyValue }) },
      { weight: 2, arbitrary: fc.record({ kind: fc.constant("remove" as const), pick }) },
      {
        weight: 2,
        arbitrary: fc.record({ kind: fc.constant("add" as const), pick, key, value: nastyValue }),
      },
    ),
    { minLength: 1, maxLength: 3 },
  );
}

type Container = Record<string, unknown> | unknown[];

/** Every [container, key] pair in `root` (depth first), capped at `limit` to keep big inputs fast. */
function slots(root: unknown, limit = 4000): Array<[Container, string | number]> {
  const out: Array<[Container, string | number]> = [];
  const walk = (v: unknown) => {
    if (out.length >= limit || typeof v !== "object" || v === null) return;
    const c = v as Container;
    for (const k of Array.isArray(c) ? c.keys() : Object.keys(c)) {
      out.push([c, k]);
      walk((c as Record<string | number, unknown>)[k]);
    }
  };
  walk(root);
  return out;
}

/** A mutated deep copy of `json`; inserted values are copied too, so no case changes an arbitrary's value. */
export function applyJson<T>(json: T, mutations: readonly JsonMutation[]): unknown {
  const copy = structuredClone(json) as unknown;
  for (const m of mutations) {
    const all = slots(copy);
    const value = m.kind === "remove" ? undefined : structuredClone(m.value);
    if (all.length === 0) return m.kind === "replace" ? value : copy;
    const [c, k] = all[m.pick % all.length]!;
    const rec = c as Record<string | number, unknown>;
    if (m.kind === "replace") rec[k] = value;
    else if (m.kind === "remove") {
      if (Array.isArray(c)) c.splice(k as number, 1);
      else delete rec[k];
    } else {
      const target = rec[k];
      if (typeof target === "object" && target !== null && !Array.isArray(target))
        (target as Record<string, unknown>)[m.key] = value;
      else if (!Array.isArray(c)) rec[m.key] = value;
    }
  }
  return copy;
}

/**
 * JSON text of a mutated value. NaN and ±Infinity become 1e400-style literals that JSON.parse
 * reads as Infinity (or null for NaN), as a file could hold them.
 */
export function toJsonText(v: unknown): string {
  return JSON.stringify(v, (_k, x) =>
    typeof x === "number" && !Number.isFinite(x)
      ? Number.isNaN(x)
        ? null
        : `__INF${x > 0 ? "+" : "-"}__`
      : x,
  )
    .replaceAll('"__INF+__"', "1e400")
    .replaceAll('"__INF-__"', "-1e400");
}

/**
 * The property every reader must have: it returns (and `check` accepts the result) or throws
 * one of the `known` error classes with a message naming `file`; never another error (a raw
 * TypeError or RangeError), and never slower than CASE_MS.
 */
export async function clearErrorOrValid(
  file: string,
  known: ReadonlyArray<abstract new (...args: never[]) => Error>,
  read: () => unknown,
  check: (value: unknown) => void | Promise<void> = () => undefined,
): Promise<"valid" | "refused"> {
  const t0 = performance.now();
  let outcome: "valid" | "refused";
  try {
    const value = await read();
    await check(value);
    outcome = "valid";
  } catch (e) {
    if (!known.some((k) => e instanceof k))
      throw new Error(`not a clear error: ${(e as Error)?.stack ?? String(e)}`);
    if (!(e as Error).message.includes(file))
      throw new Error(`the message does not name ${file}: ${(e as Error).message}`);
    outcome = "refused";
  }
  const ms = performance.now() - t0;
  if (ms > CASE_MS) throw new Error(`one case took ${ms.toFixed(0)} ms (a hang, for this suite)`);
  return outcome;
}

/**
 * fc.assert with the failing case's error in the report, and $FUZZ_SEED (with $FUZZ_PATH) to
 * replay a reported failure.
 */
export async function fuzz(
  property: fc.IAsyncProperty<unknown> | fc.IProperty<unknown>,
  numRuns: number,
): Promise<void> {
  const seed = process.env.FUZZ_SEED === undefined ? undefined : Number(process.env.FUZZ_SEED);
  await fc.assert(property as fc.IAsyncProperty<unknown>, {
    numRuns,
    includeErrorInReport: true,
    ...(seed === undefined ? {} : { seed, path: process.env.FUZZ_PATH }),
  });
}
