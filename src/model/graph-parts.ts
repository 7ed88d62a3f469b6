// Pieces every section of the graph uses: weights read from the checkpoint in the graph's
// element type (or block-quantized, for the matrices a quantized graph multiplies by), casts
// between that type and the float32 of routing and masks, and the layout change of PyTorch's
// down projections.
import { float32ToFloat16Bits } from "../checkpoint/safetensors";
import type { MonetConfig } from "../checkpoint/config";
import type { GraphBuilder } from "../onnx/graph-builder";
import {
  type BlockQuantized,
  concatQuantized,
  packedZeroPoints,
  QUANT_BLOCK as QUANT_BLOCK_SIZE,
  blockFor,
  quantizable,
  quantizeBlocks,
  type QuantBits,
} from "./quantize";

/** Where the graph gets its weights: names and layouts as in the Hugging Face checkpoint. */
export interface WeightSource {
  readonly config: MonetConfig;
  readFloat32(name: string): Promise<Float32Array>;
}

/** Adds checkpoint tensor `name` as an initializer (in the graph's element type unless `elem` says). */
export type WeightFn = (
  name: string,
  dims: number[],
  transform?: (x: Float32Array) => Float32Array,
  elem?: "float32" | "float16",
) => Promise<string>;

/** Weights are read one at a time and written straight to the external-data file. */
export function weightReader(g: GraphBuilder, src: WeightSource, dt: "float32" | "float16"): WeightFn {
  return async (name, dims, transform, elem = dt) => {
    const raw = await src.readFloat32(name);
    const data = transform ? transform(raw) : raw;
    return g.weight(name, elem, dims, elem === "float16" ? float32ToFloat16Bits(data) : data);
  };
}

/**
 * Weight-only quantization of a graph (docs/quantization.md): the large matrices are stored as
 * `bits`-bit codes with a float32 scale per block and multiplied by onnxruntime's MatMulNBits;
 * embeddings are read by GatherBlockQuantized. Activations stay float32.
 */
export interface Quantization {
  bits: QuantBits;
  /**
   * MatMulNBits' accuracy_level: 0 computes with the float32 activations as they are (the result
   * is the dequantized weights' to float rounding); 4 rounds the activations to int8 per block
   * for integer dot products (several times faster on CPUs, and the only fast int8 path).
   */
  accuracyLevel: 0 | 4;
}

/** A matrix W [out, in] used as x·Wᵀ (a PyTorch Linear weight). */
export interface LinearWeight {
  readonly out: number;
  readonly in: number;
  /** x [T, in] → x·Wᵀ (+ bias [out]) [T, out], in builder `b` (the graph or a branch). */
  apply(b: GraphBuilder, x: string, bias?: string): string;
}

/** An embedding table [vocab, d]: rows gathered by token id, and the same table as a tied head. */
export interface EmbeddingWeight {
  gather(b: GraphBuilder, ids: string): string;
  head: LinearWeight;
}

/** The graph's weights: stored tensors, and the matrices it multiplies by (quantized or not). */
export interface Weights {
  /** A tensor as stored (the graph's element type unless `elem` says). */
  tensor: WeightFn;
  /**
   * A matrix [out, in] (after `transform`) for x·Wᵀ. Quantized graphs cut its rows into blocks
   * of `block` values where they are whole blocks of it (else of QUANT_BLOCK).
   */
  linear(
    name: string,
    dims: [out: number, inp: number],
    transform?: (x: Float32Array) => Float32Array,
    block?: number,
  ): Promise<LinearWeight>;
  embedding(name: string, dims: [vocab: number, d: number]): Promise<EmbeddingWeight>;
  /**
   * Quantized graphs: several matrices multiplied as one (concatQuantized: stacked by "rows", or
   * side by side by "cols", each quantized on its own exactly as linear() would), stored as
   * `name`, all in blocks of `block` (or of QUANT_BLOCK where a part's rows are not whole blocks
   * of it). Undefined in float graphs, or when a part's rows are not whole blocks of either.
   */
  joined?(
    name: string,
    parts: readonly MatrixPart[],
    along: "rows" | "cols",
    block?: number,
  ): Promise<LinearWeight | undefined>;
  /** Set for quantized graphs. */
  readonly quant?: Quantization;
}

/** A checkpoint matrix [out, in] (after `transform`), one part of a joined matrix. */
export interface MatrixPart {
  name: string;
  dims: [out: number, inp: number];
  transform?: (x: Float32Array) => Float32Array;
}

export function weightsFor(
  g: GraphBuilder,
  src: WeightSource,
  dt: "float32" | "float16",
  quant?: Quantization,
): Weights {
  const tensor = weightReader(g, src, dt);
  const floatLinear = (weight: string, out: number, inp: number): LinearWeight => ({
    out,
    in: inp,
    apply: (b, x, bias) => b.op("Gemm", bias ? [x, weight, bias] : [x, weight], { transB: 1 }),
  });
  if (!quant) {
    return {
      tensor,
      linear: async (name, [out, inp], transform) =>
        floatLinear(await tensor(name, [out, inp], transform), out, inp),
      embedding: async (name, [vocab, d]) => {
        const table = await tensor(name, [vocab, d]);
        return {
          gather: (b, ids) => b.op("Gather", [table, ids], { axis: 0 }),
          head: floatLinear(table, vocab, d),
        };
      },
    };
  }
  // A quantized matrix as MatMulNBits takes it: codes [out, blocks, blob], scales [out, blocks]
  // and (int4) zero points [out, ⌈blocks/2⌉], packed.
  interface Stored {
    block: number;
    codes: string;
    scales: string;
    zeroPoints: string;
  }
  const quantizePart = async (
    { name, dims: [out, inp], transform }: MatrixPart,
    block: number,
  ): Promise<BlockQuantized> => {
    const raw = await src.readFloat32(name);
    return quantizeBlocks(transform ? transform(raw) : raw, out, inp, quant.bits, block);
  };
  const store = (name: string, q: BlockQuantized): Stored => {
    const { rows: out } = q;
    const blocks = q.cols / q.block;
    const zp = packedZeroPoints(q);
    return {
      block: q.block,
      codes: g.weight(name, "uint8", [out, blocks, q.codes.length / (out * blocks)], q.codes),
      scales: g.weight(`${name}.scales`, "float32", [out, blocks], q.scales),
      zeroPoints: zp ? g.weight(`${name}.zero_points`, "uint8", [out, zp.length / out], zp) : "",
    };
  };
  const nbits = ({ block, codes, scales, zeroPoints }: Stored, out: number, inp: number): LinearWeight => ({
    out,
    in: inp,
    apply: (b, x, bias) =>
      b.op(
        "MatMulNBits",
        bias
          ? [x, codes, scales, zeroPoints, "", bias]
          : zeroPoints
            ? [x, codes, scales, zeroPoints]
            : [x, codes, scales],
        {
          K: inp,
          N: out,
          bits: quant.bits,
          block_size: block,
          accuracy_level: quant.accuracyLevel,
        },
        { domain: "com.microsoft" },
      ),
  });
  return {
    tensor,
    quant,
    joined: async (name, parts, along, preferred) => {
      const block = blockFor(
        parts.map((p) => p.dims[1]),
        preferred,
      );
      if (block === undefined) return undefined;
      const quantizedParts: BlockQuantized[] = [];
      for (const p of parts) quantizedParts.push(await quantizePart(p, block));
      const q = concatQuantized(quantizedParts, along);
      return nbits(store(name, q), q.rows, q.cols);
    },
    linear: async (name, [out, inp], transform, preferred) => {
      const block = blockFor([inp], preferred);
      // Rows that are not whole blocks (no published shape has them) stay float32.
      if (block === undefined) return floatLinear(await tensor(name, [out, inp], transform), out, inp);
      return nbits(store(name, await quantizePart({ name, dims: [out, inp], transform }, block)), out, inp);
    },
    embedding: async (name, [vocab, d]) => {
      if (!quantizable(d)) {
        const table = await tensor(name, [vocab, d]);
        return {
          gather: (b, ids) => b.op("Gather", [table, ids], { axis: 0 }),
          head: floatLinear(table, vocab, d),
        };
      }
      const raw = await src.readFloat32(name);
      const q = quantizeBlocks(raw, vocab, d, quant.bits);
      const blocks = d / q.block;
      const codes = g.weight(name, "uint8", [vocab, blocks, q.codes.length / (vocab * blocks)], q.codes);
      // GatherBlockQuantized wants scales and zero points of the codes' rank: [vocab, blocks, 1].
      const scales = g.weight(`${name}.scales`, "float32", [vocab, blocks, 1], q.scales);
      const zeroPoints = q.zeroPoints
        ? g.weight(`${name}.zero_points`, "uint8", [vocab, blocks, 1], q.zeroPoints)
        : "";
      let head: LinearWeight | undefined;
      return {
        gather: (b, ids) =>
          b.op("Reshape", [
            b.op(
              "GatherBlockQuantized",
              zeroPoints ? [codes, ids, scales, zeroPoints] : [codes, ids, scales],
              { gather_axis: 0, quantize_axis: 2, block_size: QUANT_BLOCK_SIZE, bits: quant.bits },
              { domain: "com.microsoft" },
            ),
            b.constI64([-1, d]),
          ]),
        // A tied head (rare) multiplies by the same codes, with scales and zero points in
        // MatMulNBits' layout: small copies, written only when asked for.
        get head() {
          if (!head) {
            const zp = packedZeroPoints(q);
            head = nbits(
              {
                block: q.block,
                codes,
                scales: g.weight(`${name}.head_scales`, "float32", [vocab, blocks], q.scales),
                zeroPoints: zp
                  ? g.weight(`${name}.head_zero_points`, "uint8", [vocab, zp.length / vocab], zp)
                  : "",
              },
              vocab,
              d,
            );
          }
          return head;
        },
      };
    },
  };
}

/** Moving values between the graph's element type and the float32 of routing and masks. */
export interface Casts {
  toF32: (x: string, b?: GraphBuilder) => string;
  toDt: (x: string, b?: GraphBuilder) => string;
  scalar: (v: number) => string;
}

export function castsFor(g: GraphBuilder, dt: "float32" | "float16"): Casts {
  if (dt === "float32") return { toF32: (x) => x, toDt: (x) => x, scalar: (v) => g.scalarF32(v) };
  return {
    toF32: (x, b = g) => b.op("Cast", [x], { to: 1 }),
    toDt: (x, b = g) => b.op("Cast", [x], { to: 10 }),
    scalar: (v) => g.constant("float16", [], float32ToFloat16Bits(Float32Array.of(v))),
  };
}

/** [rows, cols] → [cols, rows] (PyTorch's [out, in] down projections to expert-major rows). */
export function transpose(x: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(x.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = x[r * cols + c]!;
  return out;
}
