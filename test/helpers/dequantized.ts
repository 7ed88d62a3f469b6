// The weights a quantized graph computes with, as float32: each matrix the converter quantizes
// is quantized and dequantized here in the layout and block size the graph stores it with
// (docs/quantization.md), so that a float32 graph of this source is the reference for the
// quantized graph.
import { expectedTensors } from "../../src/checkpoint/checkpoint";
import { transpose, type WeightSource } from "../../src/model/graph-parts";
import {
  blockFor,
  dequantizeBlocks,
  EXPERT_QUANT_BLOCK,
  quantizeBlocks,
  type QuantBits,
} from "../../src/model/quantize";

/** Matrices stored as they are ([out, in], blocks along in), outside the experts. */
const AS_STORED =
  /^(model\.embed_tokens\.weight|lm_head\.weight|model\.layers\.\d+\.self_attn\.[qkvo]_proj\.weight)$/;
/** The experts' up projections, stored as they are, in blocks of EXPERT_QUANT_BLOCK. */
const UP = /^model\.layers\.\d+\.moe\.(u1|u2|u)\.weight$/;
/** The experts' down projections, stored as they are, joined with their side's biases. */
const DOWN = /^model\.layers\.\d+\.moe\.(v11|v12|v21|v22|v)\.weight$/;
/** Per-expert biases [E, out], stored transposed ([out, E], blocks along the experts). */
const BIAS = /^model\.layers\.\d+\.moe\.(b1|b2|b)$/;

export function dequantizedSource(src: WeightSource, bits: QuantBits): WeightSource {
  const shapes = expectedTensors(src.config);
  const E = src.config.moeExperts;
  const roundTrip = (w: Float32Array, rows: number, cols: number, block: number | undefined) =>
    block === undefined ? w : dequantizeBlocks(quantizeBlocks(w, rows, cols, bits, block));
  // A side's down projections and biases are one matrix in blocks that suit all of them; where
  // the biases cannot be quantized they stay float32 and the projections are joined alone.
  const downBlock = (cols: number) => blockFor([cols, E], EXPERT_QUANT_BLOCK);
  const { moeDim, moeDecompose } = src.config;
  const downCols = moeDecompose === "vertical" ? (E * moeDim) / 2 : E * moeDim;
  return {
    config: src.config,
    async readFloat32(name) {
      const w = await src.readFloat32(name);
      const [rows, cols] = shapes.get(name) ?? [];
      if (AS_STORED.test(name)) return roundTrip(w, rows!, cols!, blockFor([cols!]));
      if (UP.test(name)) return roundTrip(w, rows!, cols!, blockFor([cols!], EXPERT_QUANT_BLOCK));
      if (DOWN.test(name))
        return roundTrip(w, rows!, cols!, downBlock(cols!) ?? blockFor([cols!], EXPERT_QUANT_BLOCK));
      if (BIAS.test(name))
        return transpose(
          roundTrip(transpose(w, rows!, cols!), cols!, rows!, downBlock(downCols)),
          cols!,
          rows!,
        );
      return w;
    },
  };
}
