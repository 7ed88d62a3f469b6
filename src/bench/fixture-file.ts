// Reads the reference fixtures (../shared/fixtures/*/expected*.safetensors: F32, I64 and U8
// tensors, whole files of a few MB) for the tests and the GPU check's exactness checks.
import { readFileSync } from "node:fs";

export interface FixtureTensor {
  dtype: string;
  shape: number[];
  bytes: Uint8Array;
}

export function readFixture(path: string): Map<string, FixtureTensor> {
  const buf = readFileSync(path);
  const n = Number(buf.readBigUInt64LE(0));
  const header = JSON.parse(buf.subarray(8, 8 + n).toString("utf8")) as Record<
    string,
    { dtype: string; shape: number[]; data_offsets: [number, number] }
  >;
  const out = new Map<string, FixtureTensor>();
  for (const [name, e] of Object.entries(header)) {
    if (name === "__metadata__") continue;
    const bytes = new Uint8Array(buf.subarray(8 + n + e.data_offsets[0], 8 + n + e.data_offsets[1]));
    out.set(name, { dtype: e.dtype, shape: e.shape, bytes });
  }
  return out;
}

function get(m: Map<string, FixtureTensor>, name: string, dtype: string): FixtureTensor {
  const t = m.get(name);
  if (!t) throw new Error(`fixture has no tensor ${name}`);
  if (t.dtype !== dtype) throw new Error(`fixture tensor ${name} is ${t.dtype}, expected ${dtype}`);
  return t;
}

export function f32(m: Map<string, FixtureTensor>, name: string): Float32Array {
  const t = get(m, name, "F32");
  return new Float32Array(t.bytes.slice().buffer);
}

export function i64(m: Map<string, FixtureTensor>, name: string): number[] {
  const t = get(m, name, "I64");
  return Array.from(new BigInt64Array(t.bytes.slice().buffer), Number);
}

export function u8(m: Map<string, FixtureTensor>, name: string): Uint8Array {
  return get(m, name, "U8").bytes;
}

export function shape(m: Map<string, FixtureTensor>, name: string): number[] {
  const t = m.get(name);
  if (!t) throw new Error(`fixture has no tensor ${name}`);
  return t.shape;
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    // NaN is never within a tolerance.
    if (!(d <= m)) m = Number.isNaN(d) ? Number.POSITIVE_INFINITY : d;
  }
  return m;
}
