// Pieces every section of the graph uses: weights read from the checkpoint in the graph's
// element type, casts between that type and the float32 of routing and masks, and the
// layout change of PyTorch's down projections.
import { float32ToFloat16Bits } from "../checkpoint/safetensors";
import type { MonetConfig } from "../checkpoint/config";
import type { GraphBuilder } from "../onnx/graph-builder";

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

/** x·Wᵀ for a PyTorch Linear weight [out, in]. */
export function linear(g: GraphBuilder, x: string, weight: string): string {
  return g.op("Gemm", [x, weight], { transB: 1 });
}
