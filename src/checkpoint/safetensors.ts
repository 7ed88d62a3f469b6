// Reads safetensors files (https://github.com/huggingface/safetensors) without loading them:
// the header is parsed and validated at open, tensor bytes are fetched with positioned reads
// on demand. Also the dtype conversions the converter needs (bf16/f16/f32 → f32 or f16 bits).
import type { FileHandle } from "node:fs/promises";
import { FileAccessError, openRegularFile } from "../files/regular-file";
import { CheckpointError } from "./errors";

export type Dtype = "BF16" | "F16" | "F32" | "I64";
export type FloatDtype = Exclude<Dtype, "I64">;

export const DTYPE_BYTES: Readonly<Record<Dtype, number>> = { BF16: 2, F16: 2, F32: 4, I64: 8 };

export function isDtype(s: unknown): s is Dtype {
  return s === "BF16" || s === "F16" || s === "F32" || s === "I64";
}

/** A tensor's place in the file; begin/end are relative to the start of the data section. */
export interface SafetensorsEntry {
  name: string;
  dtype: Dtype;
  shape: number[];
  begin: number;
  end: number;
}

export interface SafetensorsHeader {
  tensors: Map<string, SafetensorsEntry>;
  metadata: Record<string, string> | undefined;
}

/** Same limit as the reference implementation: a bigger header is not a safetensors file. */
const MAX_HEADER_BYTES = 100_000_000;
const REDOWNLOAD = "re-download it";

export function numel(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/**
 * Parses and validates a header (the JSON bytes after the 8-byte length). `dataBytes` is the
 * size of the data section; every tensor must lie inside it, none may overlap another.
 */
export function parseSafetensorsHeader(
  headerBytes: Uint8Array,
  dataBytes: number,
  file: string,
): SafetensorsHeader {
  const fail = (message: string): never => {
    throw new CheckpointError(file, message);
  };
  let json: unknown;
  try {
    json = JSON.parse(
      Buffer.from(headerBytes.buffer, headerBytes.byteOffset, headerBytes.byteLength).toString("utf8"),
    );
  } catch (e) {
    fail(
      `the safetensors header is not valid JSON (${(e as Error).message}): the file is corrupt or not a safetensors file; ${REDOWNLOAD}`,
    );
  }
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    fail(
      `the safetensors header is not a JSON object: the file is corrupt or not a safetensors file; ${REDOWNLOAD}`,
    );
  }
  const tensors = new Map<string, SafetensorsEntry>();
  let metadata: Record<string, string> | undefined;
  for (const [name, value] of Object.entries(json as Record<string, unknown>)) {
    if (name === "__metadata__") {
      metadata = parseMetadata(value, fail);
      continue;
    }
    tensors.set(name, parseEntry(name, value, dataBytes, fail));
  }
  checkNoOverlap([...tensors.values()], fail);
  return { tensors, metadata };
}

function parseMetadata(value: unknown, fail: (m: string) => never): Record<string, string> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    fail(`"__metadata__" must be an object of strings: the file is corrupt; ${REDOWNLOAD}`);
  }
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    if (typeof v !== "string")
      fail(`"__metadata__.${k}" must be a string: the file is corrupt; ${REDOWNLOAD}`);
    out[k] = v as string;
  }
  return out;
}

function parseEntry(
  name: string,
  value: unknown,
  dataBytes: number,
  fail: (m: string) => never,
): SafetensorsEntry {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    fail(`tensor "${name}": header entry is not an object: the file is corrupt; ${REDOWNLOAD}`);
  }
  const { dtype, shape, data_offsets: offsets } = value as Record<string, unknown>;
  if (!isDtype(dtype)) {
    fail(
      `tensor "${name}" has unknown dtype ${JSON.stringify(dtype)}: only BF16, F16, F32 (and I64 for BatchNorm counters) are supported; save the checkpoint in bfloat16, float16 or float32`,
    );
  }
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    fail(
      `tensor "${name}" has an invalid shape ${JSON.stringify(shape)} (expected an array of non-negative integers): the file is corrupt; ${REDOWNLOAD}`,
    );
  }
  if (
    !Array.isArray(offsets) ||
    offsets.length !== 2 ||
    !offsets.every((o) => Number.isSafeInteger(o) && o >= 0)
  ) {
    fail(
      `tensor "${name}" has invalid data_offsets ${JSON.stringify(offsets)}: the file is corrupt; ${REDOWNLOAD}`,
    );
  }
  const [begin, end] = offsets as [number, number];
  const entry: SafetensorsEntry = { name, dtype: dtype as Dtype, shape: shape as number[], begin, end };
  const expected = numel(entry.shape) * DTYPE_BYTES[entry.dtype];
  if (end < begin || end - begin !== expected) {
    fail(
      `tensor "${name}" (${entry.dtype} ${JSON.stringify(entry.shape)}) needs ${expected} bytes but its data_offsets [${begin}, ${end}] span ${end - begin}: the file is corrupt; ${REDOWNLOAD}`,
    );
  }
  if (end > dataBytes) {
    fail(
      `tensor "${name}" ends at byte ${end} of the data section but the data section has only ${dataBytes} bytes: the file is truncated or corrupt; ${REDOWNLOAD}`,
    );
  }
  return entry;
}

function checkNoOverlap(entries: SafetensorsEntry[], fail: (m: string) => never): void {
  const sorted = entries.filter((e) => e.end > e.begin).sort((a, b) => a.begin - b.begin);
  for (let i = 1; i < sorted.length; i++) {
    const prev = sorted[i - 1]!;
    const cur = sorted[i]!;
    if (cur.begin < prev.end) {
      fail(
        `tensors "${prev.name}" [${prev.begin}, ${prev.end}] and "${cur.name}" [${cur.begin}, ${cur.end}] overlap: the file is corrupt; ${REDOWNLOAD}`,
      );
    }
  }
}

/** An open safetensors file: validated header in memory, tensor data read on demand. */
export class SafetensorsFile {
  private constructor(
    readonly path: string,
    /** Size of the whole file in bytes. */
    readonly size: number,
    /** The raw header JSON bytes (including any padding), as stored. */
    readonly headerBytes: Buffer,
    /** Absolute file position where the data section starts (8 + header length). */
    readonly dataStart: number,
    readonly tensors: ReadonlyMap<string, SafetensorsEntry>,
    readonly metadata: Readonly<Record<string, string>> | undefined,
    private readonly fh: FileHandle,
  ) {}

  static async open(path: string): Promise<SafetensorsFile> {
    let fh: FileHandle;
    let size: number;
    try {
      ({ fh, size } = await openRegularFile(path, "safetensors file"));
    } catch (e) {
      if (!(e instanceof FileAccessError)) throw e;
      throw new CheckpointError(
        path,
        e.problem === "missing" ? `the file is missing: ${REDOWNLOAD}` : e.reason,
      );
    }
    try {
      if (size < 8)
        throw new CheckpointError(
          path,
          `the file has only ${size} bytes, too few for a safetensors file: it is truncated; ${REDOWNLOAD}`,
        );
      const lenBuf = await readExactly(fh, path, 0, 8);
      const headerLen = lenBuf.readBigUInt64LE(0);
      if (headerLen > BigInt(size - 8)) {
        throw new CheckpointError(
          path,
          `header claims ${headerLen} bytes but file has ${size}: the file is truncated (${REDOWNLOAD})`,
        );
      }
      if (headerLen > BigInt(MAX_HEADER_BYTES)) {
        throw new CheckpointError(
          path,
          `header claims ${headerLen} bytes, more than any safetensors file has (Monet Lens reads headers of at most ${MAX_HEADER_BYTES / 1e6} MB): the file is corrupt or not a safetensors file; ${REDOWNLOAD}`,
        );
      }
      const n = Number(headerLen);
      const headerBytes = await readExactly(fh, path, 8, n);
      const header = parseSafetensorsHeader(headerBytes, size - 8 - n, path);
      return new SafetensorsFile(path, size, headerBytes, 8 + n, header.tensors, header.metadata, fh);
    } catch (e) {
      await fh.close();
      throw e;
    }
  }

  entry(name: string): SafetensorsEntry {
    const e = this.tensors.get(name);
    if (!e) throw new CheckpointError(this.path, `no tensor "${name}" in this file`);
    return e;
  }

  /** The tensor's raw little-endian bytes, in a fresh (8-byte aligned) buffer. */
  async readTensorBytes(name: string): Promise<Buffer> {
    const e = this.entry(name);
    return readExactly(this.fh, this.path, this.dataStart + e.begin, e.end - e.begin);
  }

  /** Raw bytes at an absolute file position (used for sampling content in fingerprints). */
  async readRange(position: number, length: number): Promise<Buffer> {
    return readExactly(this.fh, this.path, position, length);
  }

  async close(): Promise<void> {
    await this.fh.close();
  }
}

async function readExactly(fh: FileHandle, path: string, position: number, length: number): Promise<Buffer> {
  // Unpooled, so byteOffset is 0 and typed-array views of any element size are aligned.
  const buf = Buffer.allocUnsafeSlow(length);
  let done = 0;
  while (done < length) {
    // A single read may return less than asked (and is capped at 2 GiB), hence the loop.
    const { bytesRead } = await fh.read(buf, done, Math.min(length - done, 1 << 30), position + done);
    if (bytesRead === 0) {
      throw new CheckpointError(
        path,
        `the file ended after ${position + done} bytes while reading ${length} bytes at ${position}: it is truncated or was changed while open; ${REDOWNLOAD}`,
      );
    }
    done += bytesRead;
  }
  return buf;
}

// ---- dtype conversions -------------------------------------------------------------------
// All assume a little-endian host (every platform Node supports in practice) and files in
// little-endian order, as safetensors specifies.

/** bf16/f16/f32 bytes → float32 values (exact: every bf16 and f16 value is an f32 value). */
export function toFloat32(bytes: Uint8Array, dtype: Dtype): Float32Array {
  checkLength(bytes, dtype);
  switch (dtype) {
    case "F32": {
      const out = new Float32Array(bytes.byteLength / 4);
      new Uint8Array(out.buffer).set(bytes);
      return out;
    }
    case "BF16": {
      const src = u16View(bytes);
      const out = new Float32Array(src.length);
      const bits = new Uint32Array(out.buffer);
      for (let i = 0; i < src.length; i++) bits[i] = src[i]! << 16;
      return out;
    }
    case "F16": {
      const src = u16View(bytes);
      const table = f16ToF32Table();
      const out = new Float32Array(src.length);
      const bits = new Uint32Array(out.buffer);
      for (let i = 0; i < src.length; i++) bits[i] = table[src[i]!]!;
      return out;
    }
    case "I64":
      throw new TypeError("toFloat32: I64 tensors hold integers, not floats");
  }
}

/** bf16/f16/f32 bytes → IEEE half-precision bit patterns, rounded to nearest, ties to even. */
export function toFloat16Bits(bytes: Uint8Array, dtype: Dtype): Uint16Array {
  checkLength(bytes, dtype);
  switch (dtype) {
    case "F16":
      return u16View(bytes).slice();
    case "F32": {
      const out = new Uint16Array(bytes.byteLength / 4);
      const src = u32View(bytes);
      for (let i = 0; i < src.length; i++) out[i] = f32BitsToF16Bits(src[i]!);
      return out;
    }
    case "BF16": {
      // bf16 → f32 is exact, so this rounds once.
      const src = u16View(bytes);
      const out = new Uint16Array(src.length);
      for (let i = 0; i < src.length; i++) out[i] = f32BitsToF16Bits((src[i]! << 16) >>> 0);
      return out;
    }
    case "I64":
      throw new TypeError("toFloat16Bits: I64 tensors hold integers, not floats");
  }
}

/** float32 values → bfloat16 bit patterns, rounded to nearest, ties to even (NaN stays NaN). */
export function float32ToBFloat16Bits(
  src: Float32Array,
  out: Uint16Array = new Uint16Array(src.length),
): Uint16Array {
  const bits = new Uint32Array(src.buffer, src.byteOffset, src.length);
  for (let i = 0; i < bits.length; i++) {
    const x = bits[i]!;
    out[i] = (x & 0x7fffffff) > 0x7f800000 ? (x >>> 16) | 0x40 : (x + 0x7fff + ((x >>> 16) & 1)) >>> 16;
  }
  return out;
}

/** float32 values → IEEE half bit patterns, rounded to nearest, ties to even. */
export function float32ToFloat16Bits(
  src: Float32Array,
  out: Uint16Array = new Uint16Array(src.length),
): Uint16Array {
  const bits = new Uint32Array(src.buffer, src.byteOffset, src.length);
  for (let i = 0; i < bits.length; i++) out[i] = f32BitsToF16Bits(bits[i]!);
  return out;
}

/** One float32 bit pattern → half bit pattern (round to nearest even; overflow → ±inf). */
export function f32BitsToF16Bits(x: number): number {
  const sign = (x >>> 16) & 0x8000;
  const abs = x & 0x7fffffff;
  if (abs >= 0x7f800000) {
    // inf stays inf; NaN keeps its top payload bits and is made quiet.
    return abs === 0x7f800000 ? sign | 0x7c00 : sign | 0x7e00 | ((abs >>> 13) & 0x3ff);
  }
  if (abs >= 0x477ff000) return sign | 0x7c00; // ≥ 65520 rounds to inf
  if (abs >= 0x38800000) {
    // Normal half: rebias the exponent (127 → 15) and round away the low 13 mantissa bits.
    return sign | ((abs - 0x38000000 + 0xfff + ((abs >>> 13) & 1)) >>> 13);
  }
  if (abs <= 0x33000000) return sign; // ≤ 2^-25 rounds to ±0 (exactly 2^-25 is a tie → even 0)
  // Subnormal half k·2^-24: k = m·2^(e-150+24), m the 24-bit significand.
  const e = abs >>> 23;
  const m = (abs & 0x7fffff) | 0x800000;
  const shift = 126 - e;
  let k = m >>> shift;
  const rem = m & ((1 << shift) - 1);
  const half = 1 << (shift - 1);
  if (rem > half || (rem === half && (k & 1) === 1)) k++;
  return sign | k; // k may reach 0x400, the smallest normal: the encoding carries over
}

let f16Table: Uint32Array | undefined;

/** f32 bit pattern of every half value, built once (256 KiB): exact incl. subnormals/inf/NaN. */
function f16ToF32Table(): Uint32Array {
  if (f16Table) return f16Table;
  const table = new Uint32Array(65536);
  const f = new Float32Array(1);
  const fBits = new Uint32Array(f.buffer);
  for (let h = 0; h < 65536; h++) {
    const sign = (h & 0x8000) << 16;
    const exp = (h >>> 10) & 0x1f;
    const mant = h & 0x3ff;
    if (exp === 0) {
      f[0] = mant * 2 ** -24; // subnormal (or zero): exactly representable in f32
      table[h] = (sign | fBits[0]!) >>> 0;
    } else if (exp === 31) {
      table[h] = (sign | 0x7f800000 | (mant << 13)) >>> 0;
    } else {
      table[h] = (sign | ((exp + 112) << 23) | (mant << 13)) >>> 0;
    }
  }
  f16Table = table;
  return table;
}

function checkLength(bytes: Uint8Array, dtype: Dtype): void {
  if (bytes.byteLength % DTYPE_BYTES[dtype] !== 0) {
    throw new RangeError(`${bytes.byteLength} bytes is not a whole number of ${dtype} values`);
  }
}

function u16View(bytes: Uint8Array): Uint16Array {
  if (bytes.byteOffset % 2 === 0)
    return new Uint16Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 2);
  return new Uint16Array(bytes.slice().buffer); // misaligned: copy once
}

function u32View(bytes: Uint8Array): Uint32Array {
  if (bytes.byteOffset % 4 === 0)
    return new Uint32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
  return new Uint32Array(bytes.slice().buffer);
}
