// Weight-only block quantization for the converter (docs/quantization.md): each row of a
// matrix [rows, cols] is cut into blocks of QUANT_BLOCK values along cols, and each block
// stores one float32 scale and `bits`-bit codes q with w ≈ (q − 2^(bits−1))·scale.
//
// The layout is what onnxruntime's MatMulNBits takes as B (com.microsoft, no zero_points
// input, so the zero point is 2^(bits−1)): codes [rows, blocks, QUANT_BLOCK·bits/8] uint8,
// 4-bit codes two to a byte with the even column in the low nibble, and scales [rows, blocks].
// GatherBlockQuantized reads the same bytes (uint8 data, quantize_axis last).
//
// Symmetric: the scale maps the block's largest magnitude to the code range's end (±(2^(bits−1) − 1)),
// so zero stays exactly zero and no zero points are stored.

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
}

/** Whether a matrix with rows of `cols` values can be block-quantized (whole blocks only). */
export function quantizable(cols: number, block = QUANT_BLOCK): boolean {
  return cols > 0 && cols % block === 0;
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
  const zero = 1 << (bits - 1);
  const qmax = zero - 1;
  const top = (1 << bits) - 1;
  for (let b = 0; b < rows * blocks; b++) {
    const start = b * block;
    let amax = 0;
    for (let i = 0; i < block; i++) amax = Math.max(amax, Math.abs(w[start + i]!));
    const scale = Math.fround(amax / qmax);
    scales[b] = scale;
    const inv = scale === 0 ? 0 : 1 / scale;
    const out = b * blob;
    for (let i = 0; i < block; i++) {
      const q = Math.min(top, Math.max(0, Math.round(w[start + i]! * inv) + zero));
      if (bits === 8) codes[out + i] = q;
      else codes[out + (i >> 1)]! |= i & 1 ? q << 4 : q;
    }
  }
  return { rows, cols, bits, block, codes, scales };
}

/** The float32 weights a quantized matrix stands for: (q − 2^(bits−1))·scale, as the kernels compute it. */
export function dequantizeBlocks(q: BlockQuantized): Float32Array {
  const out = new Float32Array(q.rows * q.cols);
  const zero = 1 << (q.bits - 1);
  const blob = (q.block * q.bits) / 8;
  for (let b = 0; b < q.scales.length; b++) {
    const scale = q.scales[b]!;
    for (let i = 0; i < q.block; i++) {
      const byte = q.codes[b * blob + (q.bits === 8 ? i : i >> 1)]!;
      const code = q.bits === 8 ? byte : i & 1 ? byte >> 4 : byte & 15;
      out[b * q.block + i] = Math.fround((code - zero) * scale);
    }
  }
  return out;
}
