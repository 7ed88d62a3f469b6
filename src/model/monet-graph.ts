// The CodeMonet forward pass as an ONNX graph, section by section as in
// ../shared/docs/monet-math.md: LLaMA attention with RoPE and a KV cache, the router,
// the vertical (VD) and horizontal (HD) expert decompositions, and exact expert masks.
//
// Batch size is 1 and activations are 2-D [T, d]. The expert layers work in the
// *union of surviving experts*: only the half-experts that the router keeps for some
// token and head (g > 0) carry weight, so the graph gathers their weight rows and
// computes over those alone. This is exact (the others are multiplied by g = 0) and,
// for decoding one token, reads a fraction of the expert weights.
import type { MonetConfig } from "../checkpoint/config";
import { f, type ElemType, type GraphBuilder } from "../onnx/graph-builder";
import { normalQuantile } from "./normal-quantile";
import { float32ToFloat16Bits } from "../checkpoint/safetensors";

/** Where the graph gets its weights: names and layouts as in the Hugging Face checkpoint. */
export interface WeightSource {
  readonly config: MonetConfig;
  readFloat32(name: string): Promise<Float32Array>;
}

export interface GraphOptions {
  /**
   * Element type of the weights and activations. The router, the routing weights and the
   * mask corrections always work in float32 (expert selection is a threshold), and so do
   * the logits.
   */
  dtype: "float32" | "float16";
  /** "fused": onnxruntime's GroupQueryAttention (default); "portable": standard ONNX ops. */
  attention?: "fused" | "portable";
  onProgress?: (done: number, total: number, what: string) => void;
}

/** Names of the graph's inputs and outputs, shared with the engine. */
export const io = {
  inputIds: "input_ids", // int64 [1, T]
  numLogits: "num_logits", // int64 [1]: logits for the last n positions
  maskActive: "mask_active", // bool []: apply the masks below
  mask: (g: number) => `mask.${g}`, // float [E, E], 1 = masked expert (i, j) of routing group g
  pastLength: "past_length", // int64 [1]: cached tokens P (fused attention, whose cache buffers may be longer)
  pastKey: (l: number) => `past_key.${l}`, // float [1, kvH, P, hd] (fused attention: [1, kvH, C ≥ P, hd], first P valid)
  pastValue: (l: number) => `past_value.${l}`,
  logits: "logits", // float [1, n, V]
  presentKey: (l: number) => `present_key.${l}`, // float [1, kvH, P+T, hd] (fused attention: the T new positions only, [1, kvH, T, hd])
  presentValue: (l: number) => `present_value.${l}`,
  g1: (g: number) => `router.${g}.g1`, // float [1, T, H, E]
  g2: (g: number) => `router.${g}.g2`,
};

/** Inputs longer than this take the all-experts path even if some experts are idle. */
const UNION_MAX_TOKENS = 8;

/** Routing groups: layer l opens group l / moeGroups when l % moeGroups == 0. */
export function routingGroups(c: MonetConfig): number {
  return Math.ceil(c.numLayers / c.moeGroups);
}

/**
 * Per routing group. The full routing (g [T, H, E], r = Σ_h g, masked where masks apply)
 * serves prefill, where every expert survives for some token; the union view (indices of
 * the surviving experts and g, r, M restricted to them) serves short inputs and decoding.
 */
interface Routing {
  g1: string; // [T, H, E] float32
  g2: string;
  r1: string; // [T, E, 1] float32
  r2: string;
  /** The same in the graph's element type, for mixing expert activations. */
  g1d: string;
  g2d: string;
  r1d: string;
  r2d: string;
  mask: string; // [E, E]
  /** Per token and head, the surviving experts compactly: indices [T, H, K] and weights g. */
  c1: Compact;
  c2: Compact;
  /** M[idx1, idx2] per token and head [T, H, K1, K2] (only computed under masks). */
  mc: string;
  useAll: string; // bool: run over all experts (else over the union of survivors)
  s1: string; // int64 [U1]: experts that survive for some token and head
  s2: string; // int64 [U2]
}

interface Compact {
  idx: string; // int64 [T, H, K]
  w: string; // [T, H, K]
}

/** One side of the expert computation, either over all experts or over the union. */
interface ExpertView {
  g1: string;
  g2: string;
  r1: string;
  r2: string;
  /**
   * Σ_h gOut[t,h,i]·Σ_j M'[i,j]·gIn[t,h,j]·a[t,j,:]: what masked experts carry into Y
   * (side 1 → 2 uses M, side 2 → 1 uses Mᵀ). [T, U, k]
   */
  lost: (b: GraphBuilder, toSide: 1 | 2, a: string) => string;
  /** The rows of an expert-major weight [E·rows, …] for this view's side-1 or side-2 experts. */
  rows1: (b: GraphBuilder, weight: string, rows: number) => string;
  rows2: (b: GraphBuilder, weight: string, rows: number) => string;
}

export async function buildMonetGraph(g: GraphBuilder, src: WeightSource, opts: GraphOptions): Promise<void> {
  const c = src.config;
  const dt: ElemType = opts.dtype;
  const d = c.hiddenSize;
  const hd = c.headDim;
  const E = c.moeExperts;
  const H = c.moeHeads;
  const groups = routingGroups(c);
  let step = 0;
  const total = c.numLayers + 2;
  const progress = (what: string) => opts.onProgress?.(++step, total, what);

  // Weights are read one at a time and written straight to the external-data file.
  const w: WeightFn = async (name, dims, transform, elem = dt) => {
    const raw = await src.readFloat32(name);
    const data = transform ? transform(raw) : raw;
    return g.weight(name, elem, dims, elem === "float16" ? float32ToFloat16Bits(data) : data);
  };
  const cast = castsFor(g, dt);

  // ---- inputs
  const ids = g.input(io.inputIds, "int64", [1, "T"]);
  const numLogits = g.input(io.numLogits, "int64", [1]);
  const maskActive = g.input(io.maskActive, "bool", []);
  const masks = Array.from({ length: groups }, (_, k) => g.input(io.mask(k), "float32", [E, E]));
  const fusedAttention = (opts.attention ?? "fused") === "fused";
  // Fused attention reads the cache from buffers with room (length C, the first P valid, P
  // given apart) and returns only the new tokens' keys and values: onnxruntime-node copies each
  // output into JavaScript, which for the whole cache cost time in proportion to the context.
  const pastLength = fusedAttention ? g.input(io.pastLength, "int64", [1]) : "";
  const pastK: string[] = [];
  const pastV: string[] = [];
  for (let l = 0; l < c.numLayers; l++) {
    pastK.push(g.input(io.pastKey(l), dt, [1, c.numKvHeads, fusedAttention ? "C" : "P", hd]));
    pastV.push(g.input(io.pastValue(l), dt, [1, c.numKvHeads, fusedAttention ? "C" : "P", hd]));
  }

  // ---- positions: P (cached tokens) + arange(T)
  const scalar = (x: string) => g.op("Squeeze", [x, g.constI64([0])]);
  const P = fusedAttention ? scalar(pastLength) : scalar(g.op("Shape", [pastK[0]!], { start: 2, end: 3 }));
  const T = scalar(g.op("Shape", [ids], { start: 1, end: 2 }));
  const S = g.op("Add", [P, T]);
  const one = g.constI64([1], []);
  const pos = g.op("Range", [P, S, one]); // [T]
  const kpos = g.op("Range", [g.constI64([0], []), S, one]); // [S]

  // RoPE tables, computed in float32 as transformers does; rows gathered by position.
  const maxPos = c.maxPositionEmbeddings;
  const cos = new Float32Array(maxPos * hd);
  const sin = new Float32Array(maxPos * hd);
  for (let i = 0; i < hd / 2; i++) {
    const inv = Math.fround(1 / Math.fround(Math.pow(c.ropeTheta, Math.fround((2 * i) / hd))));
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
  const cosHalf = fusedAttention ? table("rope.cos_half", half(cos), hd / 2) : "";
  const sinHalf = fusedAttention ? table("rope.sin_half", half(sin), hd / 2) : "";
  const seqlensK = fusedAttention
    ? g.op("Cast", [g.op("Reshape", [g.op("Sub", [S, one]), g.constI64([1])])], { to: 6 })
    : "";
  const totalLen = fusedAttention ? g.op("Cast", [S], { to: 6 }) : "";
  const cosT = fusedAttention ? "" : g.op("Gather", [table("rope.cos", cos, hd), pos], { axis: 0 }); // [T, hd]
  const sinT = fusedAttention ? "" : g.op("Gather", [table("rope.sin", sin, hd), pos], { axis: 0 });

  // Causal mask [T, S] (portable attention): key position s is visible from query position p iff s ≤ p.
  const causal = () => {
    const future = g.op("Greater", [
      g.op("Unsqueeze", [kpos, g.constI64([0])]),
      g.op("Unsqueeze", [pos, g.constI64([1])]),
    ]);
    return g.op("Where", [future, cast.scalar(-Infinity), cast.scalar(0)]);
  };

  // ---- embedding
  const embed = await w("model.embed_tokens.weight", [c.vocabSize, d]);
  let h = g.op("Gather", [embed, g.op("Squeeze", [ids, g.constI64([0])])], { axis: 0 }); // [T, d]
  progress("embeddings");

  const rmsNorm = async (x: string, name: string) =>
    g.op("SimplifiedLayerNormalization", [x, await w(name, [d])], {
      axis: -1,
      epsilon: f(c.rmsNormEps),
      stash_type: 1,
    });
  const linear = (x: string, weight: string) => g.op("Gemm", [x, weight], { transB: 1 });
  const rotate = (x: string) => {
    const [x1, x2] = g.opN("Split", [x, g.constI64([hd / 2, hd / 2])], 2, { axis: 3 });
    const rot = g.op("Concat", [g.op("Neg", [x2!]), x1!], { axis: 3 });
    return g.op("Add", [g.op("Mul", [x, cosT]), g.op("Mul", [rot, sinT])]);
  };
  const heads = (x: string, n: number) =>
    g.op("Transpose", [g.op("Reshape", [x, g.constI64([1, -1, n, hd])])], { perm: [0, 2, 1, 3] }); // [1, n, T, hd]

  let routing: Routing | undefined;
  for (let l = 0; l < c.numLayers; l++) {
    const p = `model.layers.${l}`;
    // ---- attention
    const xa = await rmsNorm(h, `${p}.input_layernorm.weight`);
    const qProj = linear(xa, await w(`${p}.self_attn.q_proj.weight`, [c.numHeads * hd, d]));
    const kProj = linear(xa, await w(`${p}.self_attn.k_proj.weight`, [c.numKvHeads * hd, d]));
    const vProj = linear(xa, await w(`${p}.self_attn.v_proj.weight`, [c.numKvHeads * hd, d]));
    let ctx: string;
    if (fusedAttention) {
      // onnxruntime's GroupQueryAttention: RoPE (half rotation), causal mask, GQA and the
      // cache append in one kernel. seqlens_k is the last position (total − 1).
      const [o, kAll, vAll] = g.opN(
        "GroupQueryAttention",
        [
          g.op("Unsqueeze", [qProj, g.constI64([0])]),
          g.op("Unsqueeze", [kProj, g.constI64([0])]),
          g.op("Unsqueeze", [vProj, g.constI64([0])]),
          pastK[l]!,
          pastV[l]!,
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
      g.output(fresh(kAll!), io.presentKey(l), dt, [1, c.numKvHeads, "T", hd]);
      g.output(fresh(vAll!), io.presentValue(l), dt, [1, c.numKvHeads, "T", hd]);
      ctx = g.op("Squeeze", [o!, g.constI64([0])]); // [T, H·hd]
    } else {
      const q = heads(qProj, c.numHeads);
      const k = heads(kProj, c.numKvHeads);
      const v = heads(vProj, c.numKvHeads);
      const kAll = g.op("Concat", [pastK[l]!, rotate(k)], { axis: 2 });
      const vAll = g.op("Concat", [pastV[l]!, v], { axis: 2 });
      g.output(kAll, io.presentKey(l), dt, [1, c.numKvHeads, "S", hd]);
      g.output(vAll, io.presentValue(l), dt, [1, c.numKvHeads, "S", hd]);
      // Grouped-query attention: query head h reads kv head h / rep, so the rep query heads
      // of one kv head broadcast against it: scores are [1, kvH, rep, T, S].
      const rep = c.numHeads / c.numKvHeads;
      const qs = g.op("Mul", [
        g.op("Reshape", [rotate(q), g.constI64([1, c.numKvHeads, rep, -1, hd])]),
        cast.scalar(1 / Math.sqrt(hd)),
      ]);
      const kT = g.op("Unsqueeze", [g.op("Transpose", [kAll], { perm: [0, 1, 3, 2] }), g.constI64([2])]); // [1, kvH, 1, hd, S]
      const scores = g.op("Add", [g.op("MatMul", [qs, kT]), causal()]);
      const probs = g.op("Softmax", [scores], { axis: -1 });
      const attn = g.op("MatMul", [probs, g.op("Unsqueeze", [vAll, g.constI64([2])])]); // [1, kvH, rep, T, hd]
      ctx = g.op("Reshape", [
        g.op("Transpose", [g.op("Reshape", [attn, g.constI64([1, c.numHeads, -1, hd])])], {
          perm: [0, 2, 1, 3],
        }),
        g.constI64([-1, c.numHeads * hd]),
      ]);
    }
    h = g.op("Add", [h, linear(ctx, await w(`${p}.self_attn.o_proj.weight`, [d, c.numHeads * hd]))]);

    // ---- router (every moeGroups layers) and experts
    const x = await rmsNorm(h, `${p}.post_attention_layernorm.weight`);
    if (l % c.moeGroups === 0)
      routing = await router(
        g,
        src,
        cast.toF32(x),
        l,
        l / c.moeGroups,
        masks[l / c.moeGroups]!,
        maskActive,
        w,
        cast,
      );
    const moe =
      c.moeDecompose === "vertical"
        ? await verticalExperts(g, src, x, routing!, maskActive, p, w, cast)
        : await horizontalExperts(g, src, x, routing!, maskActive, p, w, cast);
    h = g.op("Add", [h, moe]);
    progress(`layer ${l}`);
  }

  // ---- logits for the last num_logits positions only (the others are rarely needed)
  const start = g.op("Neg", [numLogits]);
  const last = g.op("Slice", [h, start, g.constI64([Number.MAX_SAFE_INTEGER]), g.constI64([0])]);
  const hn = await rmsNorm(last, "model.norm.weight");
  const head = c.tieWordEmbeddings ? embed : await w("lm_head.weight", [c.vocabSize, d]);
  g.output(cast.toF32(g.op("Unsqueeze", [linear(hn, head), g.constI64([0])])), io.logits, "float32", [
    1,
    "N",
    c.vocabSize,
  ]);
  progress("head");
}

type WeightFn = (
  name: string,
  dims: number[],
  transform?: (x: Float32Array) => Float32Array,
  elem?: "float32" | "float16",
) => Promise<string>;

/** Moving values between the graph's element type and the float32 of routing and masks. */
interface Casts {
  toF32: (x: string, b?: GraphBuilder) => string;
  toDt: (x: string, b?: GraphBuilder) => string;
  scalar: (v: number) => string;
}

function castsFor(g: GraphBuilder, dt: "float32" | "float16"): Casts {
  if (dt === "float32") return { toF32: (x) => x, toDt: (x) => x, scalar: (v) => g.scalarF32(v) };
  return {
    toF32: (x, b = g) => b.op("Cast", [x], { to: 1 }),
    toDt: (x, b = g) => b.op("Cast", [x], { to: 10 }),
    scalar: (v) => g.constant("float16", [], float32ToFloat16Bits(Float32Array.of(v))),
  };
}

/** [rows, cols] → [cols, rows] (PyTorch's [out, in] down projections to expert-major rows). */
function transpose(x: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(x.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = x[r * cols + c]!;
  return out;
}

/** Router of monet-math.md: BatchNorm-normalised scores choose, raw scores weigh. */
async function router(
  g: GraphBuilder,
  src: WeightSource,
  x: string,
  l: number,
  group: number,
  mask: string,
  maskActive: string,
  w: WeightFn,
  cast: Casts,
): Promise<Routing> {
  const c = src.config;
  const H = c.moeHeads;
  const E = c.moeExperts;
  const p = `model.layers.${l}.router`;
  const sigma = g.scalarF32(normalQuantile(1 - c.moeTopk / E));
  const side = async (k: 1 | 2) => {
    const z = g.op("Reshape", [
      g.op("Gemm", [x, await w(`${p}.w${k}.weight`, [H * E, c.hiddenSize], undefined, "float32")], {
        transB: 1,
      }),
      g.constI64([-1, H, E]),
    ]); // [T, H, E]
    const mean = await w(`${p}.norm${k}.running_mean`, [H, 1], undefined, "float32");
    const std = g.op("Sqrt", [
      g.op("Add", [await w(`${p}.norm${k}.running_var`, [H, 1], undefined, "float32"), g.scalarF32(1e-5)]),
    ]);
    const n = g.op("Div", [g.op("Sub", [z, mean]), std]);
    const s = g.op("Min", [g.op("ReduceMax", [n, g.constI64([-1])], { keepdims: 1 }), sigma]);
    const kept = g.op("Where", [g.op("GreaterOrEqual", [n, s]), z, g.scalarF32(-1e10)]);
    const gk = g.op("Softmax", [kept], { axis: -1 });
    g.output(g.op("Unsqueeze", [gk, g.constI64([0])]), k === 1 ? io.g1(group) : io.g2(group), "float32", [
      1,
      "T",
      H,
      E,
    ]);
    // The union of surviving experts over tokens and heads (g = 0 exactly for the others).
    const alive = g.op("Greater", [
      g.op("ReduceSum", [gk, g.constI64([0, 1])], { keepdims: 0 }),
      g.scalarF32(0),
    ]);
    const sIdx = g.op("Squeeze", [g.op("NonZero", [alive]), g.constI64([0])]); // [U]
    const all = g.op("Equal", [g.op("Shape", [sIdx]), g.constI64([E])]);
    return { g: gk, sIdx, all };
  };
  const one = await side(1);
  const two = await side(2);
  // r1[i] = Σ_h g1[h,i]·(1 − Σ_j M[i,j] g2[h,j]), r2 likewise (monet-math.md, masking),
  // with the masked part summed over each token's surviving pairs only. The compact
  // per-token view of the survivors is only built under masks.
  const [r1, r2, mc, idx1, w1, idx2, w2] = g.ifThenElse(
    maskActive,
    7,
    (b) => {
      const c1 = compact(b, one.g);
      const c2 = compact(b, two.g);
      const flatIdx = b.op("Add", [
        b.op("Unsqueeze", [b.op("Mul", [c1.idx, b.constI64([E], [])]), b.constI64([3])]),
        b.op("Unsqueeze", [c2.idx, b.constI64([2])]),
      ]); // [T, H, K1, K2]
      const mcb = b.op("Gather", [b.op("Reshape", [mask, b.constI64([-1])]), flatIdx], { axis: 0 });
      const sumH = (gk: string) => b.op("ReduceSum", [gk, b.constI64([1])], { keepdims: 0 }); // [T, E]
      const lostR = (m: string, wOut: string, wIn: string, idx: string, like: string) => {
        const q = b.op("Squeeze", [
          b.op("MatMul", [m, b.op("Unsqueeze", [wIn, b.constI64([3])])]),
          b.constI64([3]),
        ]); // [T, H, K]
        return scatterAddOverHeads(b, b.op("Mul", [q, wOut]), idx, like); // [T, E]
      };
      const s1 = sumH(one.g);
      const s2 = sumH(two.g);
      const lost1 = lostR(mcb, c1.w, c2.w, c1.idx, s1);
      const lost2 = lostR(b.op("Transpose", [mcb], { perm: [0, 1, 3, 2] }), c2.w, c1.w, c2.idx, s2);
      const sub = (sum: string, lost: string) =>
        b.op("Unsqueeze", [b.op("Sub", [sum, lost]), b.constI64([2])]);
      return [sub(s1, lost1), sub(s2, lost2), mcb, c1.idx, c1.w, c2.idx, c2.w];
    },
    (b) => [
      sumHeads(b, one.g),
      sumHeads(b, two.g),
      b.scalarF32(0),
      b.constI64([0], []),
      b.scalarF32(0),
      b.constI64([0], []),
      b.scalarF32(0),
    ],
  );
  return {
    g1: one.g,
    g2: two.g,
    r1: r1!,
    r2: r2!,
    g1d: cast.toDt(one.g),
    g2d: cast.toDt(two.g),
    r1d: cast.toDt(r1!),
    r2d: cast.toDt(r2!),
    mask,
    c1: { idx: idx1!, w: w1! },
    c2: { idx: idx2!, w: w2! },
    mc: mc!,
    // All experts, when all survive or more than a few tokens run (prefill): then the
    // compact per-token mask correction beats the union's dense mask block.
    useAll: g.op("Or", [
      g.op("Squeeze", [g.op("And", [one.all, two.all]), g.constI64([0])]),
      g.op("Greater", [g.op("Shape", [x], { start: 0, end: 1 }), g.constI64([UNION_MAX_TOKENS])]),
    ]),
    s1: one.sIdx,
    s2: two.sIdx,
  };
}

/**
 * The surviving experts of each token and head, compactly: TopK by g with K the largest
 * survivor count (data-dependent, never a fixed k); padding entries have g = 0 exactly.
 */
function compact(g: GraphBuilder, gk: string): Compact {
  const counts = g.op(
    "ReduceSum",
    [g.op("Cast", [g.op("Greater", [gk, g.scalarF32(0)])], { to: 1 }), g.constI64([2])],
    { keepdims: 0 },
  ); // [T, H]
  const K = g.op("Reshape", [
    g.op("Cast", [g.op("ReduceMax", [counts], { keepdims: 0 })], { to: 7 }),
    g.constI64([1]),
  ]);
  const [w, idx] = g.opN("TopK", [gk, K], 2, { axis: -1, largest: 1, sorted: 1 });
  return { w: w!, idx: idx! };
}

/**
 * Adds per-token, per-head values [T, H, K(, k)] into zeros shaped like `like` [T, E(, k)]
 * at expert indices idx [T, H, K], summing over heads and duplicates. `width` is the
 * 1-element shape tensor [k] when the values have a feature axis.
 */
function scatterAddOverHeads(
  b: GraphBuilder,
  values: string,
  idx: string,
  like: string,
  width?: string,
): string {
  const flat =
    width === undefined ? b.constI64([0, -1]) : b.op("Concat", [b.constI64([0, -1]), width], { axis: 0 });
  const upd = b.op("Reshape", [values, flat]);
  let ind = b.op("Reshape", [idx, b.constI64([0, -1])]);
  if (width !== undefined)
    ind = b.op("Expand", [b.op("Unsqueeze", [ind, b.constI64([2])]), b.op("Shape", [upd])]);
  const zeros = b.op("ConstantOfShape", [b.op("Shape", [like])]); // float32 zeros by default
  return b.op("ScatterElements", [zeros, ind, upd], { axis: 1, reduction: "add" });
}

/** Σ over heads: [T, H, E] → [T, E, 1]. */
function sumHeads(b: GraphBuilder, t: string): string {
  return b.op("Unsqueeze", [b.op("ReduceSum", [t, b.constI64([1])], { keepdims: 0 }), b.constI64([2])]);
}

/** The expert layer runs over all experts when all survive (prefill), else over the union. */
function expertBranches(
  g: GraphBuilder,
  r: Routing,
  cast: Casts,
  body: (b: GraphBuilder, v: ExpertView) => string,
): string {
  const full = (_b: GraphBuilder, weight: string) => weight;
  // Expert-major weights stay 2-D [E·rows, cols]; the union's rows are e·rows + 0..rows-1.
  const union = (idx: string) => (b: GraphBuilder, weight: string, rows: number) => {
    const rowIdx =
      rows === 1
        ? idx
        : b.op("Reshape", [
            b.op("Add", [
              b.op("Unsqueeze", [b.op("Mul", [idx, b.constI64([rows], [])]), b.constI64([1])]),
              b.constI64(
                Array.from({ length: rows }, (_, i) => i),
                [1, rows],
              ),
            ]),
            b.constI64([-1]),
          ]);
    return b.op("Gather", [weight, rowIdx], { axis: 0 });
  };
  // Dense view: per token, only the pairs of surviving experts can be masked.
  // The mask corrections run in float32 (ScatterElements cannot add in float16).
  const lostDense = (b: GraphBuilder, toSide: 1 | 2, aDt: string) => {
    const a = cast.toF32(aDt, b);
    const [outer, inner] = toSide === 1 ? [r.c1, r.c2] : [r.c2, r.c1];
    const mc = toSide === 1 ? r.mc : b.op("Transpose", [r.mc], { perm: [0, 1, 3, 2] });
    const k = b.op("Shape", [a], { start: 2 }); // [k]
    const T = b.op("Shape", [a], { start: 0, end: 1 });
    // a[t, idx[t,h,q], :] via one Gather on a flattened [T·E, k].
    const E = b.op("Shape", [a], { start: 1, end: 2 });
    const base = b.op("Reshape", [
      b.op("Mul", [
        b.op("Range", [b.constI64([0], []), b.op("Squeeze", [T, b.constI64([0])]), b.constI64([1], [])]),
        b.op("Squeeze", [E, b.constI64([0])]),
      ]),
      b.constI64([-1, 1, 1]),
    ]);
    const rows = b.op(
      "Gather",
      [
        b.op("Reshape", [a, b.op("Concat", [b.constI64([-1]), k], { axis: 0 })]),
        b.op("Add", [inner.idx, base]),
      ],
      { axis: 0 },
    ); // [T, H, K', k]
    const carried = b.op("MatMul", [mc, b.op("Mul", [b.op("Unsqueeze", [inner.w, b.constI64([3])]), rows])]); // [T, H, K, k]
    const values = b.op("Mul", [b.op("Unsqueeze", [outer.w, b.constI64([3])]), carried]);
    return cast.toDt(scatterAddOverHeads(b, values, outer.idx, a, k), b);
  };
  // Union view: few experts survive, so the union's dense mask block is cheap.
  const unionView = (b: GraphBuilder): ExpertView => {
    const pick = (t: string, idx: string, axis: number) => b.op("Gather", [t, idx], { axis });
    const lost = (bb: GraphBuilder, toSide: 1 | 2, aDt: string) => {
      const a = cast.toF32(aDt, bb);
      const g1u = pick(r.g1, r.s1, 2); // [T, H, U1] float32
      const g2u = pick(r.g2, r.s2, 2);
      const mu = pick(pick(r.mask, r.s1, 0), r.s2, 1); // [U1, U2]
      const [gOut, gIn, m] =
        toSide === 1 ? [g1u, g2u, mu] : [g2u, g1u, bb.op("Transpose", [mu], { perm: [1, 0] })];
      const weighted = bb.op("Mul", [
        bb.op("Unsqueeze", [gIn, bb.constI64([3])]),
        bb.op("Unsqueeze", [a, bb.constI64([1])]),
      ]); // [T, H, U', k]
      const carried = bb.op("MatMul", [m, weighted]); // [T, H, U, k]
      return cast.toDt(
        bb.op(
          "ReduceSum",
          [bb.op("Mul", [bb.op("Unsqueeze", [gOut, bb.constI64([3])]), carried]), bb.constI64([1])],
          { keepdims: 0 },
        ),
        bb,
      );
    };
    return {
      g1: pick(r.g1d, r.s1, 2),
      g2: pick(r.g2d, r.s2, 2),
      r1: pick(r.r1d, r.s1, 1),
      r2: pick(r.r2d, r.s2, 1),
      lost,
      rows1: union(r.s1),
      rows2: union(r.s2),
    };
  };
  const [out] = g.ifThenElse(
    r.useAll,
    1,
    (b) => [
      body(b, { g1: r.g1d, g2: r.g2d, r1: r.r1d, r2: r.r2d, lost: lostDense, rows1: full, rows2: full }),
    ],
    (b) => [body(b, unionView(b))],
  );
  return out!;
}

/** relu(u·x + bias)²: [T, U, k]. */
function upProjection(b: GraphBuilder, x: string, weight: string, bias: string, k: number): string {
  const a = b.op("Relu", [b.op("Gemm", [x, weight, bias], { transB: 1 })]);
  return b.op("Reshape", [b.op("Mul", [a, a]), b.constI64([0, -1, k])]);
}

/**
 * Y[t,i,:] = Σ_h g[t,h,i]·(Σ_j g'[t,h,j] a'[t,j,:]) minus, under masks, what the masked
 * experts carry (monet-math.md, masking).
 */
function mixThrough(g: GraphBuilder, v: ExpertView, toSide: 1 | 2, aIn: string, maskActive: string): string {
  const [gOut, gIn] = toSide === 1 ? [v.g1, v.g2] : [v.g2, v.g1];
  const plain = (b: GraphBuilder) =>
    b.op("MatMul", [b.op("Transpose", [gOut], { perm: [0, 2, 1] }), b.op("MatMul", [gIn, aIn])]); // [T, U, k]
  const [out] = g.ifThenElse(
    maskActive,
    1,
    (b) => [b.op("Sub", [plain(b), v.lost(b, toSide, aIn)])],
    (b) => [plain(b)],
  );
  return out!;
}

/** Σ of feature blocks times their weight rows: [T, U, k] blocks flattened to [T, U·k]. */
function down(b: GraphBuilder, terms: Array<[features: string, weight: string]>): string {
  const parts = terms.map(([feat, wt]) => b.op("MatMul", [b.op("Reshape", [feat, b.constI64([0, -1])]), wt]));
  return parts.reduce((acc, t) => b.op("Add", [acc, t]));
}

async function verticalExperts(
  g: GraphBuilder,
  src: WeightSource,
  x: string,
  r: Routing,
  maskActive: string,
  p: string,
  w: WeightFn,
  cast: Casts,
): Promise<string> {
  const c = src.config;
  const E = c.moeExperts;
  const k = c.moeDim / 2;
  const d = c.hiddenSize;
  const half = d / 2;
  const u1 = await w(`${p}.moe.u1.weight`, [E * k, d]);
  const u2 = await w(`${p}.moe.u2.weight`, [E * k, d]);
  const bu1 = await w(`${p}.moe.u1.bias`, [E * k]);
  const bu2 = await w(`${p}.moe.u2.bias`, [E * k]);
  const vT = (name: string) => w(`${p}.moe.${name}.weight`, [E * k, half], (x) => transpose(x, half, E * k));
  const v11 = await vT("v11");
  const v12 = await vT("v12");
  const v21 = await vT("v21");
  const v22 = await vT("v22");
  const b1 = await w(`${p}.moe.b1`, [E, half]);
  const b2 = await w(`${p}.moe.b2`, [E, half]);
  return expertBranches(g, r, cast, (b, v) => {
    const a1 = upProjection(b, x, v.rows1(b, u1, k), v.rows1(b, bu1, k), k);
    const a2 = upProjection(b, x, v.rows2(b, u2, k), v.rows2(b, bu2, k), k);
    const y12 = mixThrough(b, v, 1, a2, maskActive); // [T, U1, k]
    const y21 = mixThrough(b, v, 2, a1, maskActive); // [T, U2, k]
    // left = v11·(r1⊙a1) + v12·Y12 + r1ᵀb1;  right = v21·Y21 + v22·(r2⊙a2) + r2ᵀb2
    const left = down(b, [
      [b.op("Mul", [v.r1, a1]), v.rows1(b, v11, k)],
      [y12, v.rows1(b, v12, k)],
      [v.r1, v.rows1(b, b1, 1)],
    ]);
    const right = down(b, [
      [y21, v.rows2(b, v21, k)],
      [b.op("Mul", [v.r2, a2]), v.rows2(b, v22, k)],
      [v.r2, v.rows2(b, b2, 1)],
    ]);
    return b.op("Concat", [left, right], { axis: 1 });
  });
}

async function horizontalExperts(
  g: GraphBuilder,
  src: WeightSource,
  x: string,
  r: Routing,
  maskActive: string,
  p: string,
  w: WeightFn,
  cast: Casts,
): Promise<string> {
  const c = src.config;
  const E = c.moeExperts;
  const m = c.moeDim;
  const d = c.hiddenSize;
  const u = await w(`${p}.moe.u.weight`, [E * m, d]);
  const bu = await w(`${p}.moe.u.bias`, [E * m]);
  const vT = await w(`${p}.moe.v.weight`, [E * m, d], (x) => transpose(x, d, E * m));
  const bias = await w(`${p}.moe.b`, [E, d]);
  return expertBranches(g, r, cast, (b, v) => {
    const a = upProjection(b, x, v.rows1(b, u, m), v.rows1(b, bu, m), m);
    const y = mixThrough(b, v, 2, a, maskActive); // [T, U2, m]
    // out = v·flat(Y) + r2ᵀb
    return down(b, [
      [y, v.rows2(b, vT, m)],
      [v.r2, v.rows2(b, bias, 1)],
    ]);
  });
}
