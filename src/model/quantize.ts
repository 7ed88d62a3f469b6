// Weight-only block quantization for the converter (docs/quantization.md): each row of a
// matrix [rows, cols] is cut into blocks of QUANT_BLOCK values along cols, and each block
// stores one float32 scale, a zero point z and `bits`-bit codes q with w ≈ (q − z)·scale.
//
// int8 is symmetric: z = 128 for every block, the scale maps the block's largest magnitude to
// ±127, and no zero points are stored (the kernels' default is 2^(bits−1)). int4 is asymmetric:
// the block's range [min(w, 0), max(w, 0)] spans the 16 codes and z is stored per block; on the
// demo model that halves int4's loss in cross-entropy against the symmetric form (measured in
// docs/quantization.md), for one more byte per 64 weights. Zero stays exactly zero either way.
//
// The layout is what onnxruntime's MatMulNBits takes (com.microsoft): codes
// [rows, blocks, QUANT_BLOCK·bits/8] uint8, 4-bit codes two to a byte with the even column in
// the low nibble, scales [rows, blocks], and zero points as packedZeroPoints() writes them.
// GatherBlockQuantized reads the same codes (uint8 data, quantize_axis last).

export type QuantBits = 4 | 8;

/** Values per block (along a row). 32: the block size of onnxruntime's and llama.cpp's common formats. */
export const QUANT_BLOCK = 32;

export interface BlockQuantized {
  rows: number;
  cols: number;
  bits: QuantBits;
  block: number;
  /** [rows, cols / block, block · bits / 8] codes. */
  codes: Uint8Array;
  /** [rows, cols / block]. */
  scales: Float32Array;
  /** [rows, cols / block], one per byte (int4 only; int8's are all 128 and not stored). */
  zeroPoints?: Uint8Array;
}

/**
 * Values per block in the experts' matrices (up and down projections, per-expert biases): 128.
 * They are two thirds of a published checkpoint's weights, and onnxruntime's CPU kernel keeps
 * three float32 numbers per block beside the codes (a scale and a block sum in its packed copy,
 * and the original scale): 0.39 bytes a weight at 32, 0.1 at 128. On the int4 1.4B that is
 * 230–270 MiB less memory; on the demo model int4's mean cross-entropy is +1.53 % of float32's
 * instead of +1.26 % (docs/quantization.md, "Blocks of 128 for the experts").
 */
export const EXPERT_QUANT_BLOCK = 128;

/** Whether a matrix with rows of `cols` values can be block-quantized (whole blocks only). */
export function quantizable(cols: number, block = QUANT_BLOCK): boolean {
  return cols > 0 && cols % block === 0;
}

/**
 * The block size for matrices whose rows have `cols` values (one for all, as when joined):
 * `preferred` where every row is whole blocks of it, else QUANT_BLOCK, else undefined (the
 * matrix stays float32: no published shape has such rows; the random fixtures' do).
 */
export function blockFor(cols: readonly number[], preferred = QUANT_BLOCK): number | undefined {
  for (const block of [preferred, QUANT_BLOCK]) if (cols.every((c) => quantizable(c, block))) return block;
  return undefined;
}

export function quantizeBlocks(
  w: Float32Array,
  rows: number,
  cols: number,
  bits: QuantBits,
  block = QUANT_BLOCK,
): BlockQuantized {
  if (w.length !== rows * cols) throw new Error(`quantize: ${w.length} values for [${rows}, ${cols}]`);
  if (!quantizable(cols, block))
    throw new Error(`quantize: rows of ${cols} values are not whole blocks of ${block}`);
  const blocks = cols / block;
  const blob = (block * bits) / 8;
  const codes = new Uint8Array(rows * blocks * blob);
  const scales = new Float32Array(rows * blocks);
  const top = (1 << bits) - 1;
  const asymmetric = bits === 4;
  const zeroPoints = asymmetric ? new Uint8Array(rows * blocks) : undefined;
  for (let b = 0; b < rows * blocks; b++) {
    const start = b * block;
    let lo = 0;
    let hi = 0;
    for (let i = 0; i < block; i++) {
      const v = w[start + i]!;
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    let scale: number;
    let zero: number;
    if (asymmetric) {
      scale = Math.fround((hi - lo) / top);
      zero = scale === 0 ? 0 : Math.min(top, Math.max(0, Math.round(-lo / scale)));
      zeroPoints![b] = zero;
    } else {
      zero = 1 << (bits - 1);
      scale = Math.fround(Math.max(hi, -lo) / (zero - 1));
    }
    scales[b] = scale;
    const inv = scale === 0 ? 0 : 1 / scale;
    const out = b * blob;
    for (let i = 0; i < block; i++) {
      const q = Math.min(top, Math.max(0, Math.round(w[start + i]! * inv) + zero));
      if (bits === 8) codes[out + i] = q;
      else codes[out + (i >> 1)]! |= i & 1 ? q << 4 : q;
    }
  }
  return { rows, cols, bits, block, codes, scales, zeroPoints };
}

/** MatMulNBits' zero_points: [rows, ⌈blocks·bits/8⌉] uint8, 4-bit ones two to a byte, the even block low. */
export function packedZeroPoints(q: BlockQuantized): Uint8Array | undefined {
  if (!q.zeroPoints) return undefined;
  const blocks = q.cols / q.block;
  if (q.bits === 8) return q.zeroPoints;
  const width = Math.ceil(blocks / 2);
  const out = new Uint8Array(q.rows * width);
  for (let r = 0; r < q.rows; r++)
    for (let b = 0; b < blocks; b++) {
      const z = q.zeroPoints[r * blocks + b]!;
      out[r * width + (b >> 1)]! |= b & 1 ? z << 4 : z;
    }
  return out;
}

/** The float32 weights a quantized matrix stands for: (q − z)·scale, as the kernels compute it. */
export function dequantizeBlocks(q: BlockQuantized): Float32Array {
  const out = new Float32Array(q.rows * q.cols);
  const blob = (q.block * q.bits) / 8;
  for (let b = 0; b < q.scales.length; b++) {
    const scale = q.scales[b]!;
    const zero = q.zeroPoints ? q.zeroPoints[b]! : 1 << (q.bits - 1);
    for (let i = 0; i < q.block; i++) {
      const byte = q.codes[b * blob + (q.bits === 8 ? i : i >> 1)]!;
      const code = q.bits === 8 ? byte : i & 1 ? byte >> 4 : byte & 15;
      out[b * q.block + i] = Math.fround((code - zero) * scale);
    }
  }
  return out;
}

/**
 * Quantized matrices as one, their blocks unchanged: stacked ("rows": [W1; W2], so x·[W1; W2]ᵀ
 * is [x·W1ᵀ | x·W2ᵀ]) or side by side ("cols": [W1 | W2], so [x1 | x2]·[W1 | W2]ᵀ is
 * x1·W1ᵀ + x2·W2ᵀ). One MatMulNBits then does the work of several (docs/quantization.md).
 */
export function concatQuantized(parts: readonly BlockQuantized[], along: "rows" | "cols"): BlockQuantized {
  const first = parts[0];
  if (!first) throw new Error("concatQuantized: no parts");
  for (const p of parts)
    if (
      p.bits !== first.bits ||
      p.block !== first.block ||
      (along === "rows" ? p.cols !== first.cols : p.rows !== first.rows)
    )
      throw new Error(`concatQuantized: parts of different shapes or formats cannot be joined by ${along}`);
  const blob = (first.block * first.bits) / 8;
  const rows = along === "rows" ? parts.reduce((n, p) => n + p.rows, 0) : first.rows;
  const cols = along === "cols" ? parts.reduce((n, p) => n + p.cols, 0) : first.cols;
  const blocks = cols / first.block;
  const codes = new Uint8Array(rows * blocks * blob);
  const scales = new Float32Array(rows * blocks);
  const zeroPoints = first.zeroPoints ? new Uint8Array(rows * blocks) : undefined;
  // Each part's row r lands at row (r + rowAt), block column blockAt of the joined matrix.
  let rowAt = 0;
  let blockAt = 0;
  for (const p of parts) {
    const pb = p.cols / p.block;
    for (let r = 0; r < p.rows; r++) {
      const to = (r + rowAt) * blocks + blockAt;
      codes.set(p.codes.subarray(r * pb * blob, (r + 1) * pb * blob), to * blob);
      scales.set(p.scales.subarray(r * pb, (r + 1) * pb), to);
      if (zeroPoints) zeroPoints.set(p.zeroPoints!.subarray(r * pb, (r + 1) * pb), to);
    }
    if (along === "rows") rowAt += p.rows;
    else blockAt += pb;
  }
  return { rows, cols, bits: first.bits, block: first.block, codes, scales, zeroPoints };
}
