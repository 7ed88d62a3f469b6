// The CodeMonet forward pass as an ONNX graph, assembled from the sections of
// ../shared/docs/monet-math.md, one module each:
//   graph-io.ts    the graph's inputs and outputs (the engine's side of the contract)
//   attention.ts   LLaMA attention with RoPE and the KV cache ("Layer")
//   router.ts      the router of each routing group, with the masking (steering) sums
//   experts.ts     the VD and HD expert layers with the masking (steering) equations
//   graph-parts.ts weights, dtype casts and layout helpers every section uses
// and here the layer structure: embeddings, h += Attn(RMSNorm(h)), a router every
// moe_groups layers, h += MoE(RMSNorm(h)), and the logits.
//
// Batch size is 1 and activations are 2-D [T, d]. The expert layers work in the
// *union of surviving experts*: only the half-experts that the router keeps for some
// token and head (g > 0) carry weight, so the graph gathers their weight rows and
// computes over those alone. This is exact (the others are multiplied by g = 0) and,
// for decoding one token, reads a fraction of the expert weights.
import { routingGroupCount } from "../checkpoint/config";
import { f, type GraphBuilder } from "../onnx/graph-builder";
import { attention, type AttentionForm } from "./attention";
import { experts } from "./experts";
import { io } from "./graph-io";
import { castsFor, weightsFor, type Quantization, type WeightSource } from "./graph-parts";
import { router, type Routing } from "./router";

export type { WeightSource } from "./graph-parts";

/** The converted graph's precision (docs/quantization.md). */
export const GRAPH_DTYPES = ["float32", "float16", "int8", "int4"] as const;
export type GraphDtype = (typeof GRAPH_DTYPES)[number];

/** Whether a dtype's large matrices are block-quantized (MatMulNBits; docs/quantization.md). */
export function isQuantized(dtype: GraphDtype): dtype is "int8" | "int4" {
  return dtype === "int8" || dtype === "int4";
}

/** The element type of a graph's activations (and KV cache): quantized graphs compute in float32. */
export function activationDtype(dtype: GraphDtype): "float32" | "float16" {
  return dtype === "float16" ? "float16" : "float32";
}

export interface GraphOptions {
  /**
   * Element type of the weights and activations: float32 or float16; or int8/int4, weight-only
   * quantization of the large matrices (attention, experts, embeddings and head) with float32
   * activations. The router, the routing weights and the mask corrections always work in
   * float32 (expert selection is a threshold), and so do the logits and the residual stream
   * with its RMSNorms: a model trained in bf16 may carry residual values past float16's 65,504
   * (the engine checks the logits for what overflows elsewhere, and switches to the float32
   * graph then).
   */
  dtype: GraphDtype;
  /** Quantized graphs: MatMulNBits' accuracy_level (default 4, int8 activations; 0: float32). */
  accuracyLevel?: Quantization["accuracyLevel"];
  /**
   * "padded" (default): the cache in buffers with room, read where it lies in float32 graphs and
   * by onnxruntime's GroupQueryAttention in float16 ones; "gqa": GroupQueryAttention whatever the
   * dtype (the float32 graphs' form before converter version 11, kept to measure against);
   * "portable": standard ONNX ops over an exact-length cache. (attention.ts, AttentionForm)
   */
  attention?: "padded" | "gqa" | "portable";
  /**
   * Element type of the KV cache. Default: float16 for quantized graphs (read where it lies, in
   * float32; attention.ts readForm) and for float16 graphs, float32 otherwise. Tests build float32
   * graphs with a float16 cache as the reference of quantized ones.
   */
  kvDtype?: "float32" | "float16";
  onProgress?: (done: number, total: number, what: string) => void;
}

export async function buildMonetGraph(g: GraphBuilder, src: WeightSource, opts: GraphOptions): Promise<void> {
  const c = src.config;
  const act = activationDtype(opts.dtype);
  const quant: Quantization | undefined = isQuantized(opts.dtype)
    ? { bits: opts.dtype === "int8" ? 8 : 4, accuracyLevel: opts.accuracyLevel ?? 4 }
    : undefined;
  const d = c.hiddenSize;
  const hd = c.headDim;
  const E = c.moeExperts;
  const groups = routingGroupCount(c);
  let step = 0;
  const total = c.numLayers + 2;
  const progress = (what: string) => opts.onProgress?.(++step, total, what);
  const weights = weightsFor(g, src, act, quant);
  const w = weights.tensor;
  const cast = castsFor(g, act);

  // ---- inputs
  const ids = g.input(io.inputIds, "int64", [1, "T"]);
  const numLogits = g.input(io.numLogits, "int64", [1]);
  const maskActive = g.input(io.maskActive, "bool", []);
  const masks = Array.from({ length: groups }, (_, k) => g.input(io.mask(k), "float32", [E, E]));
  const choice = opts.attention ?? "padded";
  const form: AttentionForm =
    choice === "portable" ? "portable" : choice === "gqa" || act === "float16" ? "gqa" : "read";
  const padded = form !== "portable";
  const kvDt = opts.kvDtype ?? (quant && form === "read" ? "float16" : act);
  // Padded attention reads the cache from buffers with room (length C, the first P valid, P
  // given apart) and returns only the new tokens' keys and values: onnxruntime-node copies each
  // output into JavaScript, which for the whole cache cost time in proportion to the context.
  const pastLength = padded ? g.input(io.pastLength, "int64", [1]) : "";
  const pastK: string[] = [];
  const pastV: string[] = [];
  for (let l = 0; l < c.numLayers; l++) {
    pastK.push(g.input(io.pastKey(l), kvDt, [1, c.numKvHeads, padded ? "C" : "P", hd]));
    pastV.push(g.input(io.pastValue(l), kvDt, [1, c.numKvHeads, padded ? "C" : "P", hd]));
  }
  const attn = attention(g, c, act, cast, form, { ids, pastK, pastV, pastLength }, weights, kvDt);

  // ---- embedding
  const embed = await weights.embedding("model.embed_tokens.weight", [c.vocabSize, d]);
  // The residual stream h is float32 in every graph ([T, d]: cheap); sublayers get cast.toDt of its norm.
  let h = cast.toF32(embed.gather(g, g.op("Squeeze", [ids, g.constI64([0])]))); // [T, d]
  progress("embeddings");

  const rmsNorm = async (x: string, name: string) =>
    g.op("SimplifiedLayerNormalization", [x, await w(name, [d], undefined, "float32")], {
      axis: -1,
      epsilon: f(c.rmsNormEps),
      stash_type: 1,
    });

  let routing: Routing | undefined;
  for (let l = 0; l < c.numLayers; l++) {
    const p = `model.layers.${l}`;
    // ---- attention
    const xa = cast.toDt(await rmsNorm(h, `${p}.input_layernorm.weight`));
    h = g.op("Add", [h, cast.toF32(await attn.layer(l, xa))]);

    // ---- router (every moeGroups layers) and experts
    const x32 = await rmsNorm(h, `${p}.post_attention_layernorm.weight`);
    const x = cast.toDt(x32);
    if (l % c.moeGroups === 0)
      routing = await router(
        g,
        src,
        x32,
        l,
        l / c.moeGroups,
        masks[l / c.moeGroups]!,
        maskActive,
        w,
        cast,
        // Quantized experts always run over all experts (docs/quantization.md: gathering
        // quantized rows costs more on the CPU than reading every expert's codes).
        !quant,
      );
    const moe = await experts({ g, src, x, routing: routing!, maskActive, prefix: p, w: weights, cast });
    h = g.op("Add", [h, cast.toF32(moe)]);
    progress(`layer ${l}`);
  }

  // ---- logits for the last num_logits positions only (the others are rarely needed)
  const start = g.op("Neg", [numLogits]);
  const last = g.op("Slice", [h, start, g.constI64([Number.MAX_SAFE_INTEGER]), g.constI64([0])]);
  const hn = cast.toDt(await rmsNorm(last, "model.norm.weight"));
  const head = c.tieWordEmbeddings ? embed.head : await weights.linear("lm_head.weight", [c.vocabSize, d]);
  g.output(cast.toF32(g.op("Unsqueeze", [head.apply(g, hn), g.constI64([0])])), io.logits, "float32", [
    1,
    "N",
    c.vocabSize,
  ]);
  progress("head");
}
