// The weights a quantized graph computes with, as float32: each matrix the converter quantizes
// is quantized and dequantized here in the layout the graph stores it (docs/quantization.md),
// so that a float32 graph of this source is the reference for the quantized graph.
import { expectedTensors } from "../../src/checkpoint/checkpoint";
import { transpose, type WeightSource } from "../../src/model/graph-parts";
import { dequantizeBlocks, quantizable, quantizeBlocks, type QuantBits } from "../../src/model/quantize";

/** Matrices stored as they are ([out, in], blocks along in). */
const AS_STORED =
  /^(model\.embed_tokens\.weight|lm_head\.weight|model\.layers\.\d+\.(self_attn\.[qkvo]_proj|moe\.(u1|u2|u|v11|v12|v21|v22|v))\.weight)$/;
/** Per-expert biases [E, out], stored transposed ([out, E], blocks along the experts). */
const TRANSPOSED = /^model\.layers\.\d+\.moe\.(b1|b2|b)$/;

export function dequantizedSource(src: WeightSource, bits: QuantBits): WeightSource {
  const shapes = expectedTensors(src.config);
  const roundTrip = (w: Float32Array, rows: number, cols: number) =>
    quantizable(cols) ? dequantizeBlocks(quantizeBlocks(w, rows, cols, bits)) : w;
  return {
    config: src.config,
    async readFloat32(name) {
      const w = await src.readFloat32(name);
      const [rows, cols] = shapes.get(name) ?? [];
      if (AS_STORED.test(name)) return roundTrip(w, rows!, cols!);
      if (TRANSPOSED.test(name))
        return transpose(roundTrip(transpose(w, rows!, cols!), cols!, rows!), cols!, rows!);
      return w;
    },
  };
}
