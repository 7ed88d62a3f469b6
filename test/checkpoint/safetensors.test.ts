import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { CheckpointError } from "../../src/checkpoint/errors";
import {
  f32BitsToF16Bits,
  float32ToBFloat16Bits,
  float32ToFloat16Bits,
  SafetensorsFile,
  toFloat16Bits,
  toFloat32,
} from "../../src/checkpoint/safetensors";
import { writeSafetensors, type TensorToWrite } from "../../src/checkpoint/safetensors-writer";

const dir = mkdtempSync(join(tmpdir(), "monet-safetensors-"));
after(() => rmSync(dir, { recursive: true, force: true }));

const u16Bytes = (...bits: number[]): Uint8Array => new Uint8Array(Uint16Array.from(bits).buffer);
const f32Bits = (x: number): number => new Uint32Array(Float32Array.of(x).buffer)[0]!;
const f32FromBits = (b: number): number => new Float32Array(Uint32Array.of(b).buffer)[0]!;

// ---- conversions ------------------------------------------------------------------------------

test("BF16 → F32: exact, including signed zero, subnormals, infinities and NaN", () => {
  const out = toFloat32(
    u16Bytes(0x3f80, 0xbf80, 0x0000, 0x8000, 0x0001, 0x807f, 0x7f7f, 0x7f80, 0xff80, 0x7fc0, 0x4049),
    "BF16",
  );
  assert.equal(out[0], 1);
  assert.equal(out[1], -1);
  assert.ok(Object.is(out[2], 0));
  assert.ok(Object.is(out[3], -0));
  assert.equal(out[4], 2 ** -133); // smallest bf16 subnormal
  assert.equal(out[5], -127 * 2 ** -133);
  assert.equal(out[6], (2 - 2 ** -7) * 2 ** 127); // largest finite bf16
  assert.equal(out[7], Infinity);
  assert.equal(out[8], -Infinity);
  assert.ok(Number.isNaN(out[9]));
  assert.equal(out[10], 3.140625);
});

test("F16 → F32: exact, including subnormals, infinities and NaN", () => {
  const out = toFloat32(
    u16Bytes(0x3c00, 0xc000, 0x0001, 0x03ff, 0x0400, 0x7bff, 0x7c00, 0xfc00, 0x7e00, 0x8000, 0x3555, 0x8001),
    "F16",
  );
  assert.equal(out[0], 1);
  assert.equal(out[1], -2);
  assert.equal(out[2], 2 ** -24);
  assert.equal(out[3], 1023 * 2 ** -24);
  assert.equal(out[4], 2 ** -14);
  assert.equal(out[5], 65504);
  assert.equal(out[6], Infinity);
  assert.equal(out[7], -Infinity);
  assert.ok(Number.isNaN(out[8]));
  assert.ok(Object.is(out[9], -0));
  assert.equal(out[10], 0.333251953125);
  assert.equal(out[11], -(2 ** -24));
});

test("F16 → F32 → F16 is the identity on all 65,536 bit patterns (NaN stays NaN)", () => {
  const all = new Uint16Array(65536).map((_, i) => i);
  const f = toFloat32(new Uint8Array(all.buffer), "F16");
  const back = toFloat16Bits(new Uint8Array(f.buffer), "F32");
  for (let h = 0; h < 65536; h++) {
    const isNaN16 = (h & 0x7c00) === 0x7c00 && (h & 0x3ff) !== 0;
    if (isNaN16)
      assert.ok((back[h]! & 0x7c00) === 0x7c00 && (back[h]! & 0x3ff) !== 0, `NaN ${h.toString(16)}`);
    else assert.equal(back[h], h, `half 0x${h.toString(16)}`);
  }
});

test("F32 → F16 bits round to nearest, ties to even", () => {
  const cases: Array<[number, number]> = [
    [1, 0x3c00],
    [1 + 2 ** -11, 0x3c00], // tie between 0x3c00 and 0x3c01 → even
    [1 + 3 * 2 ** -11, 0x3c02], // tie between 0x3c01 and 0x3c02 → even
    [1 + 2 ** -11 + 2 ** -20, 0x3c01], // just above the tie
    [65504, 0x7bff],
    [65519, 0x7bff],
    [65520, 0x7c00], // tie between max half and 2^16 → overflow to inf
    [1e6, 0x7c00],
    [-1e6, 0xfc00],
    [2 ** -24, 0x0001], // smallest subnormal
    [2 ** -25, 0x0000], // tie between 0 and 2^-24 → even (0)
    [3 * 2 ** -25, 0x0002], // tie between 1 and 2 (× 2^-24) → even (up)
    [5 * 2 ** -25, 0x0002], // tie between 2 and 3 (× 2^-24) → even (down)
    [5 * 2 ** -26, 0x0001], // 1.25 × 2^-24
    [2 ** -14 - 2 ** -25, 0x0400], // tie between largest subnormal and smallest normal → even
    [2 ** -14, 0x0400],
    [1e-10, 0x0000],
    [-0, 0x8000],
    [Infinity, 0x7c00],
    [-Infinity, 0xfc00],
    [0.1, 0x2e66],
    [-2.5, 0xc100],
  ];
  const bits = float32ToFloat16Bits(Float32Array.from(cases.map(([x]) => x)));
  cases.forEach(([x, h], i) => {
    assert.equal(bits[i], h, `${x} → 0x${bits[i]!.toString(16)}, expected 0x${h.toString(16)}`);
  });
  // Just above 2^-25 rounds up to the smallest subnormal.
  assert.equal(f32BitsToF16Bits(f32Bits(2 ** -25) + 1), 0x0001);
  const nan = f32BitsToF16Bits(0x7fc00000);
  assert.ok((nan & 0x7c00) === 0x7c00 && (nan & 0x3ff) !== 0);
});

test("F32 → F16 bits agree with a brute-force nearest-even search on 200,000 random floats", () => {
  // Every finite non-negative half, in increasing order of value (its bit pattern order).
  const halves = toFloat32(new Uint8Array(new Uint16Array(0x7c00).map((_, i) => i).buffer), "F16");
  const nearest = (x: number): number => {
    const a = Math.abs(x);
    if (a >= 65520) return 0x7c00;
    let lo = 0;
    let hi = halves.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (halves[mid]! <= a) lo = mid;
      else hi = mid - 1;
    }
    if (lo === halves.length - 1) return lo;
    const dLo = a - halves[lo]!;
    const dHi = halves[lo + 1]! - a;
    return dLo < dHi ? lo : dHi < dLo ? lo + 1 : lo % 2 === 0 ? lo : lo + 1;
  };
  let seed = 12345;
  const rand = (): number => {
    seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
    return seed;
  };
  const xs = new Float32Array(200_000);
  for (let i = 0; i < xs.length; i++) {
    // Exponents from 2^-30 to 2^17 cover zero-rounding, subnormals, normals and overflow.
    const exp = 97 + (rand() % 48);
    xs[i] = f32FromBits(((rand() & 0x80000000) | (exp << 23) | (rand() & 0x7fffff)) >>> 0);
  }
  const got = float32ToFloat16Bits(xs);
  for (let i = 0; i < xs.length; i++) {
    const want = nearest(xs[i]!) | (xs[i]! < 0 ? 0x8000 : 0);
    if (got[i] !== want) assert.fail(`${xs[i]} → 0x${got[i]!.toString(16)}, expected 0x${want.toString(16)}`);
  }
});

test("BF16 → F16 bits round once, to nearest even", () => {
  // bf16 0x3f80 = 1; 0x3a00 = 2^-11 = half 0x1000;
  // 0x4780 = 65536 → inf; 0x477f = 65280 → 0x7bf8.
  const out = toFloat16Bits(u16Bytes(0x3f80, 0x3a00, 0x4780, 0x477f, 0xbf80), "BF16");
  assert.deepEqual([...out], [0x3c00, 0x1000, 0x7c00, 0x7bf8, 0xbc00]);
});

test("F32 → BF16 bits round to nearest, ties to even; NaN stays NaN", () => {
  const xs = Float32Array.of(
    1,
    1 + 2 ** -8,
    1 + 3 * 2 ** -8,
    1 + 2 ** -8 + 2 ** -20,
    f32FromBits(0x7f7fffff),
    NaN,
    -0,
    -Infinity,
  );
  const b = float32ToBFloat16Bits(xs);
  assert.deepEqual([...b.slice(0, 5)], [0x3f80, 0x3f80, 0x3f82, 0x3f81, 0x7f80]);
  assert.ok((b[5]! & 0x7f80) === 0x7f80 && (b[5]! & 0x7f) !== 0);
  assert.equal(b[6], 0x8000);
  assert.equal(b[7], 0xff80);
});

test("conversions accept misaligned views and F32 passes through", () => {
  const raw = new Uint8Array(9);
  raw.set(u16Bytes(0x3f80, 0x4000, 0xc040, 0x0000), 1);
  assert.deepEqual([...toFloat32(raw.subarray(1), "BF16")], [1, 2, -3, 0]);
  const f = Float32Array.of(0.5, -1.25, 3e-5);
  const bytes = new Uint8Array(13);
  bytes.set(new Uint8Array(f.buffer), 1);
  assert.deepEqual([...toFloat32(bytes.subarray(1), "F32")], [...f]);
  assert.throws(() => toFloat32(new Uint8Array(3), "BF16"), RangeError);
  assert.throws(() => toFloat32(new Uint8Array(8), "I64"), TypeError);
});

// ---- writer → reader ----------------------------------------------------------------------------

test("writer → reader round trip, with aligned padded header, metadata and streamed data", async () => {
  const path = join(dir, "round-trip.safetensors");
  const f32 = Float32Array.from({ length: 12 }, (_, i) => i * 0.25 - 1);
  const i64 = new BigInt64Array([7n]);
  const streamed = Float32Array.from({ length: 1000 }, (_, i) => Math.sin(i));
  const tensors: TensorToWrite[] = [
    {
      name: "a.bf16",
      dtype: "BF16",
      shape: [2, 3],
      data: u16Bytes(0x3f80, 0x4000, 0x4040, 0x4080, 0xbf80, 0),
    },
    { name: "b.f32", dtype: "F32", shape: [3, 4], data: new Uint8Array(f32.buffer) },
    { name: "c.f16", dtype: "F16", shape: [1], data: u16Bytes(0x3c00) },
    { name: "d.count", dtype: "I64", shape: [], data: new Uint8Array(i64.buffer) },
    { name: "e.empty", dtype: "F32", shape: [0, 5], data: new Uint8Array(0) },
    {
      name: "f.streamed",
      dtype: "F32",
      shape: [1000],
      data: function* () {
        for (let i = 0; i < 1000; i += 300)
          yield new Uint8Array(streamed.buffer, i * 4, Math.min(300, 1000 - i) * 4);
      },
    },
  ];
  await writeSafetensors(path, tensors, { format: "pt", note: "ünïcode" });
  assert.deepEqual(
    readdirSync(dir).filter((f) => f.includes(".tmp-")),
    [],
  );

  const raw = readFileSync(path);
  const headerLen = Number(raw.readBigUInt64LE(0));
  assert.equal(headerLen % 8, 0);
  const headerText = raw.subarray(8, 8 + headerLen).toString("utf8");
  assert.match(headerText, /^\{"__metadata__":/);
  assert.match(headerText.slice(headerText.lastIndexOf("}") + 1), /^ *$/, "padding is spaces");

  const st = await SafetensorsFile.open(path);
  try {
    assert.deepEqual(st.metadata, { format: "pt", note: "ünïcode" });
    assert.deepEqual(
      [...st.tensors.keys()],
      ["a.bf16", "b.f32", "c.f16", "d.count", "e.empty", "f.streamed"],
    );
    assert.deepEqual(st.entry("a.bf16").shape, [2, 3]);
    assert.deepEqual([...toFloat32(await st.readTensorBytes("a.bf16"), "BF16")], [1, 2, 3, 4, -1, 0]);
    assert.deepEqual(toFloat32(await st.readTensorBytes("b.f32"), "F32"), f32);
    assert.deepEqual([...toFloat32(await st.readTensorBytes("c.f16"), "F16")], [1]);
    assert.equal(new BigInt64Array((await st.readTensorBytes("d.count")).buffer)[0], 7n);
    assert.equal((await st.readTensorBytes("e.empty")).byteLength, 0);
    assert.deepEqual(toFloat32(await st.readTensorBytes("f.streamed"), "F32"), streamed);
    assert.equal(st.size, raw.length);
  } finally {
    await st.close();
  }
});

test("writer rejects data of the wrong size and leaves no file behind", async () => {
  const path = join(dir, "wrong-size.safetensors");
  await assert.rejects(
    writeSafetensors(path, [{ name: "x", dtype: "F32", shape: [4], data: new Uint8Array(12) }]),
    /"x" \(F32 \[4\]\) needs 16 bytes but its data has 12/,
  );
  await assert.rejects(
    writeSafetensors(path, [{ name: "x", dtype: "BF16", shape: [2], data: new Uint8Array(6) }]),
    /needs 4 bytes but its data has more/,
  );
  await assert.rejects(
    writeSafetensors(path, [
      { name: "x", dtype: "BF16", shape: [1], data: new Uint8Array(2) },
      { name: "x", dtype: "BF16", shape: [1], data: new Uint8Array(2) },
    ]),
    /duplicate/,
  );
  assert.deepEqual(
    readdirSync(dir).filter((f) => f.startsWith("wrong-size")),
    [],
  );
});

// ---- bad files ----------------------------------------------------------------------------------

/** A file with the given header (object or raw text) and data; headerLen overrides the length. */
function rawFile(name: string, header: unknown, data: Uint8Array, headerLen?: number): string {
  const text = Buffer.from(typeof header === "string" ? header : JSON.stringify(header));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(headerLen ?? text.length));
  const path = join(dir, name);
  writeFileSync(path, Buffer.concat([len, text, data]));
  return path;
}

async function rejectsWith(path: string, pattern: RegExp): Promise<void> {
  await assert.rejects(SafetensorsFile.open(path), (e: unknown) => {
    assert.ok(e instanceof CheckpointError, `expected a CheckpointError, got ${String(e)}`);
    assert.equal(e.file, path);
    assert.ok(e.message.startsWith(path), e.message);
    assert.match(e.message, pattern);
    return true;
  });
}

test("rejects a header that is not JSON", async () => {
  await rejectsWith(
    rawFile("not-json.safetensors", '{"a": {"dtype": ', new Uint8Array(0)),
    /header is not valid JSON/,
  );
  await rejectsWith(rawFile("array.safetensors", "[1,2]", new Uint8Array(0)), /header is not a JSON object/);
});

test("rejects a header length larger than the file", async () => {
  const p = rawFile(
    "long-header.safetensors",
    { x: { dtype: "F32", shape: [1], data_offsets: [0, 4] } },
    new Uint8Array(4),
    5000,
  );
  await rejectsWith(p, /header claims 5000 bytes but file has \d+: the file is truncated \(re-download it\)/);
  const tiny = join(dir, "tiny.safetensors");
  writeFileSync(tiny, Buffer.from([1, 2, 3]));
  await rejectsWith(tiny, /only 3 bytes/);
});

test("rejects data offsets beyond the end of the file (truncated download)", async () => {
  const path = join(dir, "truncated.safetensors");
  await writeSafetensors(path, [
    { name: "a", dtype: "F32", shape: [16], data: new Uint8Array(64) },
    { name: "b", dtype: "F32", shape: [16], data: new Uint8Array(64) },
  ]);
  truncateSync(path, readFileSync(path).length - 10);
  await rejectsWith(
    path,
    /tensor "b" ends at byte 128 of the data section but the data section has only 118 bytes: the file is truncated/,
  );
});

test("rejects overlapping tensors", async () => {
  const header = {
    a: { dtype: "F32", shape: [4], data_offsets: [0, 16] },
    b: { dtype: "F32", shape: [4], data_offsets: [8, 24] },
  };
  await rejectsWith(
    rawFile("overlap.safetensors", header, new Uint8Array(24)),
    /tensors "a" \[0, 16\] and "b" \[8, 24\] overlap/,
  );
});

test("rejects an unknown dtype, naming the tensor", async () => {
  const header = { "model.x": { dtype: "F8_E4M3", shape: [4], data_offsets: [0, 4] } };
  await rejectsWith(
    rawFile("dtype.safetensors", header, new Uint8Array(4)),
    /tensor "model\.x" has unknown dtype "F8_E4M3"/,
  );
});

test("rejects a byte length that does not match the shape", async () => {
  const header = { w: { dtype: "BF16", shape: [2, 3], data_offsets: [0, 16] } };
  await rejectsWith(
    rawFile("length.safetensors", header, new Uint8Array(16)),
    /tensor "w" \(BF16 \[2,3\]\) needs 12 bytes but its data_offsets \[0, 16\] span 16/,
  );
});

test("rejects malformed shapes and offsets, and accepts __metadata__", async () => {
  await rejectsWith(
    rawFile(
      "shape.safetensors",
      { w: { dtype: "F32", shape: [-1], data_offsets: [0, 0] } },
      new Uint8Array(0),
    ),
    /invalid shape/,
  );
  await rejectsWith(
    rawFile("offsets.safetensors", { w: { dtype: "F32", shape: [1], data_offsets: [0] } }, new Uint8Array(4)),
    /invalid data_offsets/,
  );
  await rejectsWith(
    rawFile("meta.safetensors", { __metadata__: { format: 1 } }, new Uint8Array(0)),
    /"__metadata__\.format" must be a string/,
  );
  const ok = rawFile(
    "ok.safetensors",
    { __metadata__: { format: "pt" }, w: { dtype: "F16", shape: [2], data_offsets: [0, 4] } },
    new Uint8Array(4),
  );
  const st = await SafetensorsFile.open(ok);
  assert.deepEqual(st.metadata, { format: "pt" });
  await st.close();
});
