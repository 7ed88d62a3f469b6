// A set of experts in a compact text form: the sorted flat indices e = i·E + j as gaps
// (the first index, then each index minus the previous one), each gap as an unsigned
// LEB128 varint, the bytes in base64. Sets of a few percent of 262,144 experts have
// gaps of a few dozen, one byte each.

export function encodeExpertSet(sorted: ArrayLike<number>): string {
  const bytes: number[] = [];
  let prev = -1;
  for (let k = 0; k < sorted.length; k++) {
    const e = sorted[k]!;
    if (!Number.isInteger(e) || e < 0 || e <= prev)
      throw new RangeError(`expert indices must be distinct, sorted integers ≥ 0 (got ${e} after ${prev})`);
    let gap = k === 0 ? e : e - prev;
    while (gap >= 0x80) {
      bytes.push((gap & 0x7f) | 0x80);
      gap >>>= 7;
    }
    bytes.push(gap);
    prev = e;
  }
  return Buffer.from(bytes).toString("base64");
}

/** Decodes encodeExpertSet()'s text; throws on malformed input or an index ≥ limit. */
export function decodeExpertSet(text: string, limit: number): Uint32Array {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.length % 4 !== 0) throw new Error("not base64");
  const bytes = Buffer.from(text, "base64");
  const out: number[] = [];
  let prev = -1;
  for (let p = 0; p < bytes.length; ) {
    let gap = 0;
    let shift = 0;
    for (;;) {
      if (p >= bytes.length) throw new Error("truncated varint");
      if (shift > 28) throw new Error("varint too long");
      const b = bytes[p++]!;
      gap += (b & 0x7f) * 2 ** shift;
      shift += 7;
      if (b < 0x80) break;
    }
    if (out.length > 0 && gap === 0) throw new Error("repeated expert index");
    const e = out.length === 0 ? gap : prev + gap;
    if (e >= limit) throw new Error(`expert index ${e} is out of range (< ${limit})`);
    out.push(e);
    prev = e;
  }
  return Uint32Array.from(out);
}
