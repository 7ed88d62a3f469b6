// Attention of monet-math.md ("Layer"): LLaMA attention with RoPE (half rotation), a causal
// mask, grouped-query heads, and the KV cache passed in and out (src/engine/kv-cache.ts).
// Two forms: onnxruntime's fused GroupQueryAttention (the default), and a portable one in
// standard ONNX ops, kept and tested against the fixtures.
import type { MonetConfig } from "../checkpoint/config";
import { float32ToFloat16Bits } from "../checkpoint/safetensors";
import { f, type GraphBuilder } from "../onnx/graph-builder";
import { io } from "./graph-io";
import type { Casts, MatrixPart, Weights } from "./graph-parts";

export interface AttentionInputs {
  /** input_ids [1, T]. */
  ids: string;
  /** Per layer: the cached keys and values (graph inputs). */
  pastK: string[];
  pastV: string[];
  /** Cached tokens P (fused attention only; "" for the portable form). */
  pastLength: string;
}

export interface Attention {
  /** Layer l's attention over its normalised input `x` [T, d], through o_proj: [T, d]. */
  layer(l: number, x: string): Promise<string>;
}

/** Positions and RoPE tables for every layer, and each layer's attention. */
export function attention(
  g: GraphBuilder,
  c: MonetConfig,
  dt: "float32" | "float16",
  cast: Casts,
  fused: boolean,
  inputs: AttentionInputs,
  weights: Weights,
): Attention {
  const d = c.hiddenSize;
  const hd = c.headDim;
  // ---- positions: P (cached tokens) + arange(T)
  const scalar = (x: string) => g.op("Squeeze", [x, g.constI64([0])]);
  const P = fused
    ? scalar(inputs.pastLength)
    : scalar(g.op("Shape", [inputs.pastK[0]!], { start: 2, end: 3 }));
  const T = scalar(g.op("Shape", [inputs.ids], { start: 1, end: 2 }));
  const S = g.op("Add", [P, T]);
  const one = g.constI64([1], []);
  const pos = g.op("Range", [P, S, one]); // [T]
  const kpos = g.op("Range", [g.constI64([0], []), S, one]); // [S]

  // RoPE tables, computed in float32 as transformers does; rows gathered by position.
  const maxPos = c.maxPositionEmbeddings;
  const cos = new Float32Array(maxPos * hd);
  const sin = new Float32Array(maxPos * hd);
  for (let i = 0; i < hd / 2; i++) {
    const inv = Math.fround(1 / Math.fround(c.ropeTheta ** Math.fround((2 * i) / hd)));
    for (let p = 0; p < maxPos; p++) {
      const a = Math.fround(p * inv);
      cos[p * hd + i] = cos[p * hd + i + hd / 2] = Math.cos(a);
      sin[p * hd + i] = sin[p * hd + i + hd / 2] = Math.sin(a);
    }
  }
  const table = (name: string, data: Float32Array, width: number) =>
    g.weight(name, dt, [maxPos, width], dt === "float16" ? float32ToFloat16Bits(data) : data);
  const half = (t: Float32Array) => {
    const out = new Float32Array(maxPos * (hd / 2));
    for (let p = 0; p < maxPos; p++) out.set(t.subarray(p * hd, p * hd + hd / 2), (p * hd) / 2);
    return out;
  };
  const cosHalf = fused ? table("rope.cos_half", half(cos), hd / 2) : "";
  const sinHalf = fused ? table("rope.sin_half", half(sin), hd / 2) : "";
  const seqlensK = fused
    ? g.op("Cast", [g.op("Reshape", [g.op("Sub", [S, one]), g.constI64([1])])], { to: 6 })
    : "";
  const totalLen = fused ? g.op("Cast", [S], { to: 6 }) : "";
  const cosT = fused ? "" : g.op("Gather", [table("rope.cos", cos, hd), pos], { axis: 0 }); // [T, hd]
  const sinT = fused ? "" : g.op("Gather", [table("rope.sin", sin, hd), pos], { axis: 0 });

  // Causal mask [T, S] (portable attention): key position s is visible from query position p iff s ≤ p.
  const causal = () => {
    const future = g.op("Greater", [
      g.op("Unsqueeze", [kpos, g.constI64([0])]),
      g.op("Unsqueeze", [pos, g.constI64([1])]),
    ]);
    return g.op("Where", [future, cast.scalar(-Infinity), cast.scalar(0)]);
  };

  const rotate = (x: string) => {
    const [x1, x2] = g.opN("Split", [x, g.constI64([hd / 2, hd / 2])], 2, { axis: 3 });
    const rot = g.op("Concat", [g.op("Neg", [x2!]), x1!], { axis: 3 });
    return g.op("Add", [g.op("Mul", [x, cosT]), g.op("Mul", [rot, sinT])]);
  };
  const heads = (x: string, n: number) =>
    // [1, n, T, hd]
    g.op("Transpose", [g.op("Reshape", [x, g.constI64([1, -1, n, hd])])], { perm: [0, 2, 1, 3] });

  return {
    async layer(l, x) {
      const p = `model.layers.${l}`;
      const part = (name: string, out: number): MatrixPart => ({
        name: `${p}.self_attn.${name}.weight`,
        dims: [out, d],
      });
      const parts = [
        part("q_proj", c.numHeads * hd),
        part("k_proj", c.numKvHeads * hd),
        part("v_proj", c.numKvHeads * hd),
      ];
      // Quantized graphs with fused attention multiply by q, k and v as one stacked matrix and
      // hand GroupQueryAttention the packed [q | k | v] (one MatMulNBits instead of three).
      const packed = fused
        ? await weights.joined?.(`${p}.self_attn.qkv_proj.weight`, parts, "rows")
        : undefined;
      const proj = async ({ name, dims }: MatrixPart) => (await weights.linear(name, dims)).apply(g, x);
      const [qProj, kProj, vProj] = packed
        ? [packed.apply(g, x), "", ""]
        : [await proj(parts[0]!), await proj(parts[1]!), await proj(parts[2]!)];
      const unsqueezed = (t: string) => (t ? g.op("Unsqueeze", [t, g.constI64([0])]) : "");
      let ctx: string;
      if (fused) {
        // onnxruntime's GroupQueryAttention: RoPE (half rotation), causal mask, GQA and the
        // cache append in one kernel. seqlens_k is the last position (total − 1).
        const [o, kAll, vAll] = g.opN(
          "GroupQueryAttention",
          [
            unsqueezed(qProj),
            unsqueezed(kProj),
            unsqueezed(vProj),
            inputs.pastK[l]!,
            inputs.pastV[l]!,
            seqlensK,
            totalLen,
            cosHalf,
            sinHalf,
          ],
          3,
          {
            num_heads: c.numHeads,
            kv_num_heads: c.numKvHeads,
            do_rotary: 1,
            rotary_interleaved: 0,
            scale: f(1 / Math.sqrt(hd)),
          },
          { domain: "com.microsoft" },
        );
        // The new positions [P, S) of the updated cache (its length is max(C, S)).
        const fresh = (x: string) =>
          g.op("Slice", [
            x,
            g.op("Unsqueeze", [P, g.constI64([0])]),
            g.op("Unsqueeze", [S, g.constI64([0])]),
            g.constI64([2]),
          ]);
        const newK = fresh(kAll!);
        const newV = fresh(vAll!);
        g.output(newK, io.presentKey(l), dt, [1, c.numKvHeads, "T", hd]);
        g.output(newV, io.presentValue(l), dt, [1, c.numKvHeads, "T", hd]);
        // onnxruntime runs a node that nothing waits on at the end of the graph: the slices ran
        // after the last layer, and every layer's whole updated cache (kAll, vAll: the size of
        // the KV cache again, 216 MiB for the 1.4B at 576 positions) stayed allocated until
        // then. Joining an empty piece of each slice to the attention's output makes o_proj
        // wait for them, so each layer's copy is freed before the next layer starts. (A
        // dependency through the slices' shapes is optimised away by onnxruntime.) Not in
        // float16 graphs, made for GPUs, where zero-size tensors are untested (no GPU here).
        const empty = (x: string) =>
          g.op("Reshape", [
            g.op("Slice", [x, g.constI64([0]), g.constI64([0]), g.constI64([2])]),
            g.constI64([1, -1, c.numHeads * hd]),
          ]);
        const ordered = dt === "float32" ? g.op("Concat", [o!, empty(newK), empty(newV)], { axis: 1 }) : o!;
        ctx = g.op("Squeeze", [ordered, g.constI64([0])]); // [T, H·hd]
      } else {
        const q = heads(qProj, c.numHeads);
        const k = heads(kProj, c.numKvHeads);
        const v = heads(vProj, c.numKvHeads);
        const kAll = g.op("Concat", [inputs.pastK[l]!, rotate(k)], { axis: 2 });
        const vAll = g.op("Concat", [inputs.pastV[l]!, v], { axis: 2 });
        g.output(kAll, io.presentKey(l), dt, [1, c.numKvHeads, "S", hd]);
        g.output(vAll, io.presentValue(l), dt, [1, c.numKvHeads, "S", hd]);
        // Grouped-query attention: query head h reads kv head h / rep, so the rep query heads
        // of one kv head broadcast against it: scores are [1, kvH, rep, T, S].
        const rep = c.numHeads / c.numKvHeads;
        const qs = g.op("Mul", [
          g.op("Reshape", [rotate(q), g.constI64([1, c.numKvHeads, rep, -1, hd])]),
          cast.scalar(1 / Math.sqrt(hd)),
        ]);
        // [1, kvH, 1, hd, S]
        const kT = g.op("Unsqueeze", [g.op("Transpose", [kAll], { perm: [0, 1, 3, 2] }), g.constI64([2])]);
        const scores = g.op("Add", [g.op("MatMul", [qs, kT]), causal()]);
        const probs = g.op("Softmax", [scores], { axis: -1 });
        // [1, kvH, rep, T, hd]
        const attn = g.op("MatMul", [probs, g.op("Unsqueeze", [vAll, g.constI64([2])])]);
        ctx = g.op("Reshape", [
          g.op("Transpose", [g.op("Reshape", [attn, g.constI64([1, c.numHeads, -1, hd])])], {
            perm: [0, 2, 1, 3],
          }),
          g.constI64([-1, c.numHeads * hd]),
        ]);
      }
      return (await weights.linear(`${p}.self_attn.o_proj.weight`, [d, c.numHeads * hd])).apply(g, ctx);
    },
  };
}
