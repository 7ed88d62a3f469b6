// Attention of monet-math.md ("Layer"): LLaMA attention with RoPE (half rotation), a causal
// mask, grouped-query heads, and the KV cache passed in and out (src/engine/kv-cache.ts).
// Three forms (AttentionForm): the cache read where it lies (float32 graphs), onnxruntime's
// GroupQueryAttention (float16 graphs), both over padded cache buffers; and a portable one in
// standard ONNX ops, kept and tested against the fixtures.
import type { MonetConfig } from "../checkpoint/config";
import { float32ToFloat16Bits } from "../checkpoint/safetensors";
import { f, type GraphBuilder } from "../onnx/graph-builder";
import { io } from "./graph-io";
import { type Casts, castsFor, type MatrixPart, type Weights } from "./graph-parts";

export interface AttentionInputs {
  /** input_ids [1, T]. */
  ids: string;
  /** Per layer: the cached keys and values (graph inputs). */
  pastK: string[];
  pastV: string[];
  /** Cached tokens P (padded buffers: the read and gqa forms; "" for the portable form). */
  pastLength: string;
}

/**
 * How a layer attends:
 *   - "read": the padded cache buffers are read where they lie: the scores over the cached
 *     positions (FusedMatMul against the buffer, positions ≥ P masked) and over the new tokens
 *     are computed apart and share one softmax. Nothing of the cache's size is written.
 *   - "gqa": onnxruntime's GroupQueryAttention over the padded buffers. Its CPU kernel fills a
 *     new cache of the buffers' length (zeroed, then the past copied in) on every call: 1.85×
 *     the read form's time for 24 layers of the 1.4B at 1,920 tokens (`npm run bench:attention`).
 *     Kept for float16 graphs, made for GPUs, where it is unmeasured against the read form.
 *   - "portable": standard ONNX ops over an exact-length cache, returned whole.
 */
export type AttentionForm = "read" | "gqa" | "portable";

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
  form: AttentionForm,
  inputs: AttentionInputs,
  weights: Weights,
  /** Element type of the cache buffers: `dt`, or float16 under float32 activations (the read form only). */
  kvDt: "float32" | "float16" = dt,
): Attention {
  const d = c.hiddenSize;
  const hd = c.headDim;
  const padded = form !== "portable";
  const fused = form === "gqa";
  // ---- positions: P (cached tokens) + arange(T)
  const scalar = (x: string) => g.op("Squeeze", [x, g.constI64([0])]);
  const P = padded
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
  const cosHalf = padded ? table("rope.cos_half", half(cos), hd / 2) : "";
  const sinHalf = padded ? table("rope.sin_half", half(sin), hd / 2) : "";
  const seqlensK = fused
    ? g.op("Cast", [g.op("Reshape", [g.op("Sub", [S, one]), g.constI64([1])])], { to: 6 })
    : "";
  const totalLen = fused ? g.op("Cast", [S], { to: 6 }) : "";
  const cosT = padded ? "" : g.op("Gather", [table("rope.cos", cos, hd), pos], { axis: 0 }); // [T, hd]
  const sinT = padded ? "" : g.op("Gather", [table("rope.sin", sin, hd), pos], { axis: 0 });
  if (kvDt !== dt && form !== "read")
    throw new Error(`a ${kvDt} KV cache with ${dt} activations needs the read attention form, not ${form}`);
  const read = form === "read" ? readForm(g, c, P, T, pos, inputs, cosHalf, sinHalf, kvDt) : undefined;

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
  const heads = (x: string, n: number) => toHeads(g, x, n, hd);

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
      // Quantized graphs over padded buffers multiply by q, k and v as one stacked matrix (one
      // MatMulNBits instead of three): GroupQueryAttention takes the packed [q | k | v] as is,
      // the read form takes it apart.
      const packed = padded
        ? await weights.joined?.(`${p}.self_attn.qkv_proj.weight`, parts, "rows")
        : undefined;
      const proj = async ({ name, dims }: MatrixPart) => (await weights.linear(name, dims)).apply(g, x);
      const qkvSizes = [c.numHeads * hd, c.numKvHeads * hd, c.numKvHeads * hd];
      const [qProj, kProj, vProj] = !packed
        ? [await proj(parts[0]!), await proj(parts[1]!), await proj(parts[2]!)]
        : read
          ? g.opN("Split", [packed.apply(g, x), g.constI64(qkvSizes)], 3, { axis: 1 })
          : [packed.apply(g, x), "", ""];
      const unsqueezed = (t: string) => (t ? g.op("Unsqueeze", [t, g.constI64([0])]) : "");
      let ctx: string;
      if (read) {
        ctx = read.layer(l, qProj!, kProj!, vProj!);
      } else if (fused) {
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

/** [T, n·hd] → [1, n, T, hd]: the heads of a projection, one after another. */
function toHeads(g: GraphBuilder, x: string, n: number, hd: number): string {
  return g.op("Transpose", [g.op("Reshape", [x, g.constI64([1, -1, n, hd])])], { perm: [0, 2, 1, 3] });
}

/**
 * The "read" form's per-graph parts (the mask and positions all layers share) and its layer:
 * attention over a padded cache [1, kvH, C, hd] whose first P positions are valid, and T new
 * tokens, returning the new tokens' keys and values as the layer's present outputs. (Few nodes
 * per layer: at short contexts onnxruntime's cost per node is a good part of the time.)
 *
 * A float16 cache (`kvDt`, quantized graphs) holds the keys and values rounded to float16 and is
 * widened to float32 layer by layer where it is read: half the cache's memory, for about the same
 * time (`npm run bench:attention`, 24 layers of the 1.4B's attention: 1.11× the float32 cache's
 * time at 128 cached tokens, 0.93× at 1,024, 0.76× at 1,920). The new tokens attend to their own
 * keys and values rounded the same way, so a prompt gives the same logits whether it runs in one
 * pass or in chunks.
 */
function readForm(
  g: GraphBuilder,
  c: MonetConfig,
  P: string,
  T: string,
  pos: string,
  inputs: AttentionInputs,
  cosHalf: string,
  sinHalf: string,
  kvDt: "float32" | "float16",
): { layer(l: number, q: string, k: string, v: string): string } {
  const hd = c.headDim;
  const H = c.numHeads;
  const kvH = c.numKvHeads;
  const rep = H / kvH;
  const one = g.constI64([1], []);
  const zero = g.constI64([0], []);
  const row = (x: string) => g.op("Unsqueeze", [x, g.constI64([0])]);
  // The additive mask [rep·T, C + T] of the scores over the buffers' C positions, then the T new
  // tokens: 0 for the cached positions s < P, −inf for the room after them (stale or zero); new
  // token j is visible from new token i iff j ≤ i. Rows: the rep query heads of a kv head × T.
  const Cdim = g.op("Shape", [inputs.pastK[0]!], { start: 2, end: 3 });
  const s = g.op("Range", [zero, g.op("Squeeze", [Cdim, g.constI64([0])]), one]);
  const ninf = g.constF32([-Infinity], []);
  const pastMask = g.op("Where", [g.op("Less", [s, P]), g.constF32([0], []), ninf]); // [C]
  const t = g.op("Range", [zero, T, one]);
  const future = g.op("Greater", [row(t), g.op("Unsqueeze", [t, g.constI64([1])])]);
  const causal = g.op("Where", [future, ninf, g.constF32([0], [])]); // [T, T]
  const rows = g.op("Mul", [T, g.constI64([rep], [])]);
  const mask = g.op(
    "Concat",
    [
      g.op("Expand", [row(pastMask), g.op("Concat", [row(rows), Cdim], { axis: 0 })]),
      rep === 1 ? causal : g.op("Tile", [causal, g.constI64([rep, 1])]),
    ],
    { axis: 1 },
  );
  const positions = row(pos); // [1, T]
  const splitSizes = g.op("Concat", [Cdim, row(T)], { axis: 0 });
  const alpha = f(1 / Math.sqrt(hd));
  const heads = (x: string, n: number) => toHeads(g, x, n, hd);
  // RoPE by onnxruntime's kernel (the one GroupQueryAttention runs), on [1, n, T, hd].
  const rope = (x: string) =>
    g.op(
      "RotaryEmbedding",
      [x, positions, cosHalf, sinHalf],
      { interleaved: 0 },
      { domain: "com.microsoft" },
    );
  const scores = (q: string, k: string) =>
    g.op("FusedMatMul", [q, k], { transB: 1, alpha }, { domain: "com.microsoft" });
  // The cache's element type: what is stored (and returned), and float32 where it is read.
  const { toDt: stored, toF32: widened } = castsFor(g, kvDt);
  return {
    layer(l, qProj, kProj, vProj) {
      // Query head h reads kv head h / rep, and those rep heads are consecutive: as [1, kvH,
      // rep·T, hd] each kv head's keys are read once for all of them.
      const qHeads = rope(heads(qProj, H));
      const q = rep === 1 ? qHeads : g.op("Reshape", [qHeads, g.constI64([1, kvH, -1, hd])]);
      const kStored = stored(rope(heads(kProj, kvH))); // [1, kvH, T, hd]
      const vStored = stored(heads(vProj, kvH));
      g.output(kStored, io.presentKey(l), kvDt, [1, kvH, "T", hd]);
      g.output(vStored, io.presentValue(l), kvDt, [1, kvH, "T", hd]);
      const k = widened(kStored);
      const v = widened(vStored);
      const all = g.op("Concat", [scores(q, widened(inputs.pastK[l]!)), scores(q, k)], { axis: 3 });
      const probs = g.op("Softmax", [g.op("Add", [all, mask])], { axis: -1 });
      const [pPast, pNew] = g.opN("Split", [probs, splitSizes], 2, { axis: 3 });
      const o = g.op("Add", [
        g.op("MatMul", [pPast!, widened(inputs.pastV[l]!)]),
        g.op("MatMul", [pNew!, v]),
      ]);
      // [1, kvH, rep·T, hd] → [1, H, T, hd] → [T, H·hd]
      const oHeads = rep === 1 ? o : g.op("Reshape", [o, g.constI64([1, H, -1, hd])]);
      return g.op("Reshape", [g.op("Transpose", [oHeads], { perm: [0, 2, 1, 3] }), g.constI64([-1, H * hd])]);
    },
  };
}
