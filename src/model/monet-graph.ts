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

/** Where the graph gets its weights: names and layouts as in the Hugging Face checkpoint. */
export interface WeightSource {
  readonly config: MonetConfig;
  readFloat32(name: string): Promise<Float32Array>;
}

export interface GraphOptions {
  /** Element type of the weights and activations (the router always decides in float32). */
  dtype: "float32";
  onProgress?: (done: number, total: number, what: string) => void;
}

/** Names of the graph's inputs and outputs, shared with the engine. */
export const io = {
  inputIds: "input_ids", // int64 [1, T]
  numLogits: "num_logits", // int64 [1]: logits for the last n positions
  maskActive: "mask_active", // bool []: apply the masks below
  mask: (g: number) => `mask.${g}`, // float [E, E], 1 = masked expert (i, j) of routing group g
  pastKey: (l: number) => `past_key.${l}`, // float [1, kvH, P, hd]
  pastValue: (l: number) => `past_value.${l}`,
  logits: "logits", // float [1, n, V]
  presentKey: (l: number) => `present_key.${l}`, // float [1, kvH, P+T, hd]
  presentValue: (l: number) => `present_value.${l}`,
  g1: (g: number) => `router.${g}.g1`, // float [1, T, H, E]
  g2: (g: number) => `router.${g}.g2`,
};

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
  g1: string; // [T, H, E]
  g2: string;
  r1: string; // [T, E, 1]
  r2: string;
  mask: string; // [E, E]
  allAlive: string; // bool []: every expert of both sides survives somewhere
  s1: string; // int64 [U1]
  s2: string; // int64 [U2]
  g1u: string; // [T, H, U1]
  g2u: string;
  r1u: string; // [T, U1, 1]
  r2u: string;
  mu: string; // [U1, U2]
}

/** One side of the expert computation, either over all experts or over the union. */
interface ExpertView {
  g1: string;
  g2: string;
  r1: string;
  r2: string;
  m: string;
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
  const w = async (name: string, dims: number[], transform?: (x: Float32Array) => Float32Array) => {
    const data = await src.readFloat32(name);
    return g.weight(name, dt, dims, transform ? transform(data) : data);
  };

  // ---- inputs
  const ids = g.input(io.inputIds, "int64", [1, "T"]);
  const numLogits = g.input(io.numLogits, "int64", [1]);
  const maskActive = g.input(io.maskActive, "bool", []);
  const masks = Array.from({ length: groups }, (_, k) => g.input(io.mask(k), dt, [E, E]));
  const pastK: string[] = [];
  const pastV: string[] = [];
  for (let l = 0; l < c.numLayers; l++) {
    pastK.push(g.input(io.pastKey(l), dt, [1, c.numKvHeads, "P", hd]));
    pastV.push(g.input(io.pastValue(l), dt, [1, c.numKvHeads, "P", hd]));
  }

  // ---- positions: P (cached tokens) + arange(T)
  const scalar = (x: string) => g.op("Squeeze", [x, g.constI64([0])]);
  const P = scalar(g.op("Shape", [pastK[0]!], { start: 2, end: 3 }));
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
  const cosT = g.op("Gather", [g.weight("rope.cos", dt, [maxPos, hd], cos), pos], { axis: 0 }); // [T, hd]
  const sinT = g.op("Gather", [g.weight("rope.sin", dt, [maxPos, hd], sin), pos], { axis: 0 });

  // Causal mask [T, S]: key position s is visible from query position p iff s ≤ p.
  const future = g.op("Greater", [g.op("Unsqueeze", [kpos, g.constI64([0])]), g.op("Unsqueeze", [pos, g.constI64([1])])]);
  const causal = g.op("Where", [future, g.scalarF32(-Infinity), g.scalarF32(0)]);

  // ---- embedding
  const embed = await w("model.embed_tokens.weight", [c.vocabSize, d]);
  let h = g.op("Gather", [embed, g.op("Squeeze", [ids, g.constI64([0])])], { axis: 0 }); // [T, d]
  progress("embeddings");

  const rmsNorm = async (x: string, name: string) =>
    g.op("SimplifiedLayerNormalization", [x, await w(name, [d])], { axis: -1, epsilon: f(c.rmsNormEps), stash_type: 1 });
  const linear = (x: string, weight: string) => g.op("Gemm", [x, weight], { transB: 1 });
  const rotate = (x: string) => {
    const [x1, x2] = g.opN("Split", [x, g.constI64([hd / 2, hd / 2])], 2, { axis: 3 });
    const rot = g.op("Concat", [g.op("Neg", [x2!]), x1!], { axis: 3 });
    return g.op("Add", [g.op("Mul", [x, cosT]), g.op("Mul", [rot, sinT])]);
  };
  const heads = (x: string, n: number) => g.op("Transpose", [g.op("Reshape", [x, g.constI64([1, -1, n, hd])])], { perm: [0, 2, 1, 3] }); // [1, n, T, hd]

  let routing: Routing | undefined;
  for (let l = 0; l < c.numLayers; l++) {
    const p = `model.layers.${l}`;
    // ---- attention
    const xa = await rmsNorm(h, `${p}.input_layernorm.weight`);
    const q = heads(linear(xa, await w(`${p}.self_attn.q_proj.weight`, [c.numHeads * hd, d])), c.numHeads);
    const k = heads(linear(xa, await w(`${p}.self_attn.k_proj.weight`, [c.numKvHeads * hd, d])), c.numKvHeads);
    const v = heads(linear(xa, await w(`${p}.self_attn.v_proj.weight`, [c.numKvHeads * hd, d])), c.numKvHeads);
    const kAll = g.op("Concat", [pastK[l]!, rotate(k)], { axis: 2 });
    const vAll = g.op("Concat", [pastV[l]!, v], { axis: 2 });
    g.output(kAll, io.presentKey(l), dt, [1, c.numKvHeads, "S", hd]);
    g.output(vAll, io.presentValue(l), dt, [1, c.numKvHeads, "S", hd]);
    // Grouped-query attention: query head h reads kv head h / rep, so the rep query heads
    // of one kv head broadcast against it: scores are [1, kvH, rep, T, S].
    const rep = c.numHeads / c.numKvHeads;
    const qs = g.op("Mul", [g.op("Reshape", [rotate(q), g.constI64([1, c.numKvHeads, rep, -1, hd])]), g.scalarF32(1 / Math.sqrt(hd))]);
    const kT = g.op("Unsqueeze", [g.op("Transpose", [kAll], { perm: [0, 1, 3, 2] }), g.constI64([2])]); // [1, kvH, 1, hd, S]
    const scores = g.op("Add", [g.op("MatMul", [qs, kT]), causal]);
    const probs = g.op("Softmax", [scores], { axis: -1 });
    const attn = g.op("MatMul", [probs, g.op("Unsqueeze", [vAll, g.constI64([2])])]); // [1, kvH, rep, T, hd]
    const ctx = g.op("Reshape", [g.op("Transpose", [g.op("Reshape", [attn, g.constI64([1, c.numHeads, -1, hd])])], { perm: [0, 2, 1, 3] }), g.constI64([-1, c.numHeads * hd])]);
    h = g.op("Add", [h, linear(ctx, await w(`${p}.self_attn.o_proj.weight`, [d, c.numHeads * hd]))]);

    // ---- router (every moeGroups layers) and experts
    const x = await rmsNorm(h, `${p}.post_attention_layernorm.weight`);
    if (l % c.moeGroups === 0) routing = await router(g, src, x, l, l / c.moeGroups, masks[l / c.moeGroups]!, maskActive, w);
    const moe = c.moeDecompose === "vertical" ? await verticalExperts(g, src, x, routing!, maskActive, p, w) : await horizontalExperts(g, src, x, routing!, maskActive, p, w);
    h = g.op("Add", [h, moe]);
    progress(`layer ${l}`);
  }

  // ---- logits for the last num_logits positions only (the others are rarely needed)
  const start = g.op("Neg", [numLogits]);
  const last = g.op("Slice", [h, start, g.constI64([Number.MAX_SAFE_INTEGER]), g.constI64([0])]);
  const hn = await rmsNorm(last, "model.norm.weight");
  const head = c.tieWordEmbeddings ? embed : await w("lm_head.weight", [c.vocabSize, d]);
  g.output(g.op("Unsqueeze", [linear(hn, head), g.constI64([0])]), io.logits, dt, [1, "N", c.vocabSize]);
  progress("head");
}

type WeightFn = (name: string, dims: number[], transform?: (x: Float32Array) => Float32Array) => Promise<string>;

/** [rows, cols] → [cols, rows] (PyTorch's [out, in] down projections to expert-major rows). */
function transpose(x: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(x.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = x[r * cols + c]!;
  return out;
}

/** Router of monet-math.md: BatchNorm-normalised scores choose, raw scores weigh. */
async function router(g: GraphBuilder, src: WeightSource, x: string, l: number, group: number, mask: string, maskActive: string, w: WeightFn): Promise<Routing> {
  const c = src.config;
  const H = c.moeHeads;
  const E = c.moeExperts;
  const p = `model.layers.${l}.router`;
  const sigma = g.scalarF32(normalQuantile(1 - c.moeTopk / E));
  const side = async (k: 1 | 2) => {
    const z = g.op("Reshape", [g.op("Gemm", [x, await w(`${p}.w${k}.weight`, [H * E, c.hiddenSize])], { transB: 1 }), g.constI64([-1, H, E])]); // [T, H, E]
    const mean = await w(`${p}.norm${k}.running_mean`, [H, 1]);
    const std = g.op("Sqrt", [g.op("Add", [await w(`${p}.norm${k}.running_var`, [H, 1]), g.scalarF32(1e-5)])]);
    const n = g.op("Div", [g.op("Sub", [z, mean]), std]);
    const s = g.op("Min", [g.op("ReduceMax", [n, g.constI64([-1])], { keepdims: 1 }), sigma]);
    const kept = g.op("Where", [g.op("GreaterOrEqual", [n, s]), z, g.scalarF32(-1e10)]);
    const gk = g.op("Softmax", [kept], { axis: -1 });
    g.output(g.op("Unsqueeze", [gk, g.constI64([0])]), k === 1 ? io.g1(group) : io.g2(group), "float32", [1, "T", H, E]);
    // The union of surviving experts over tokens and heads (g = 0 exactly for the others).
    const alive = g.op("Greater", [g.op("ReduceSum", [gk, g.constI64([0, 1])], { keepdims: 0 }), g.scalarF32(0)]);
    const sIdx = g.op("Squeeze", [g.op("NonZero", [alive]), g.constI64([0])]); // [U]
    const all = g.op("Equal", [g.op("Shape", [sIdx]), g.constI64([E])]);
    return { g: gk, sIdx, all };
  };
  const one = await side(1);
  const two = await side(2);
  // r1[i] = Σ_h g1[h,i]·(1 − Σ_j M[i,j] g2[h,j]), r2 likewise (monet-math.md, masking).
  const [r1, r2] = g.ifThenElse(
    maskActive,
    2,
    (b) => {
      const q2 = b.op("MatMul", [two.g, b.op("Transpose", [mask], { perm: [1, 0] })]); // [T, H, E]
      const q1 = b.op("MatMul", [one.g, mask]);
      const keep = (gk: string, q: string) => b.op("Mul", [gk, b.op("Sub", [b.scalarF32(1), q])]);
      return [sumHeads(b, keep(one.g, q2)), sumHeads(b, keep(two.g, q1))];
    },
    (b) => [sumHeads(b, one.g), sumHeads(b, two.g)],
  );
  const pick = (t: string, idx: string, axis: number) => g.op("Gather", [t, idx], { axis });
  return {
    g1: one.g,
    g2: two.g,
    r1: r1!,
    r2: r2!,
    mask,
    allAlive: g.op("Squeeze", [g.op("And", [one.all, two.all]), g.constI64([0])]),
    s1: one.sIdx,
    s2: two.sIdx,
    g1u: pick(one.g, one.sIdx, 2),
    g2u: pick(two.g, two.sIdx, 2),
    r1u: pick(r1!, one.sIdx, 1),
    r2u: pick(r2!, two.sIdx, 1),
    mu: pick(pick(mask, one.sIdx, 0), two.sIdx, 1),
  };
}

/** Σ over heads: [T, H, E] → [T, E, 1]. */
function sumHeads(b: GraphBuilder, t: string): string {
  return b.op("Unsqueeze", [b.op("ReduceSum", [t, b.constI64([1])], { keepdims: 0 }), b.constI64([2])]);
}

/** The expert layer runs over all experts when all survive (prefill), else over the union. */
function expertBranches(g: GraphBuilder, r: Routing, body: (b: GraphBuilder, v: ExpertView) => string): string {
  const full = (_b: GraphBuilder, weight: string) => weight;
  // Expert-major weights stay 2-D [E·rows, cols]; the union's rows are e·rows + 0..rows-1.
  const union = (idx: string) => (b: GraphBuilder, weight: string, rows: number) => {
    const rowIdx = rows === 1 ? idx : b.op("Reshape", [b.op("Add", [b.op("Unsqueeze", [b.op("Mul", [idx, b.constI64([rows], [])]), b.constI64([1])]), b.constI64(Array.from({ length: rows }, (_, i) => i), [1, rows])]), b.constI64([-1])]);
    return b.op("Gather", [weight, rowIdx], { axis: 0 });
  };
  const [out] = g.ifThenElse(
    r.allAlive,
    1,
    (b) => [body(b, { g1: r.g1, g2: r.g2, r1: r.r1, r2: r.r2, m: r.mask, rows1: full, rows2: full })],
    (b) => [body(b, { g1: r.g1u, g2: r.g2u, r1: r.r1u, r2: r.r2u, m: r.mu, rows1: union(r.s1), rows2: union(r.s2) })],
  );
  return out!;
}

/** relu(u·x + bias)²: [T, U, k]. */
function upProjection(b: GraphBuilder, x: string, weight: string, bias: string, k: number): string {
  const a = b.op("Relu", [b.op("Gemm", [x, weight, bias], { transB: 1 })]);
  return b.op("Reshape", [b.op("Mul", [a, a]), b.constI64([0, -1, k])]);
}

/**
 * Y[t,i,:] = Σ_h g[t,h,i]·(Σ_j g'[t,h,j] a'[t,j,:] − Σ_j M'[i,j] g'[t,h,j] a'[t,j,:]),
 * the second term only under masks (monet-math.md, masking; M' = M or Mᵀ).
 */
function mixThrough(g: GraphBuilder, gOut: string, gIn: string, aIn: string, m: string, mT: boolean, maskActive: string): string {
  const plain = (b: GraphBuilder) => b.op("MatMul", [b.op("Transpose", [gOut], { perm: [0, 2, 1] }), b.op("MatMul", [gIn, aIn])]); // [T, U, k]
  const [out] = g.ifThenElse(
    maskActive,
    1,
    (b) => {
      const weighted = b.op("Mul", [b.op("Unsqueeze", [gIn, b.constI64([3])]), b.op("Unsqueeze", [aIn, b.constI64([1])])]); // [T, H, U', k]
      const carried = b.op("MatMul", [mT ? b.op("Transpose", [m], { perm: [1, 0] }) : m, weighted]); // [T, H, U, k]
      const lost = b.op("ReduceSum", [b.op("Mul", [b.op("Unsqueeze", [gOut, b.constI64([3])]), carried]), b.constI64([1])], { keepdims: 0 });
      return [b.op("Sub", [plain(b), lost])];
    },
    (b) => [plain(b)],
  );
  return out!;
}

/** Σ of feature blocks times their weight rows: [T, U, k] blocks flattened to [T, U·k]. */
function down(b: GraphBuilder, terms: Array<[features: string, weight: string]>): string {
  const parts = terms.map(([feat, wt]) => b.op("MatMul", [b.op("Reshape", [feat, b.constI64([0, -1])]), wt]));
  return parts.reduce((acc, t) => b.op("Add", [acc, t]));
}

async function verticalExperts(g: GraphBuilder, src: WeightSource, x: string, r: Routing, maskActive: string, p: string, w: WeightFn): Promise<string> {
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
  return expertBranches(g, r, (b, v) => {
    const a1 = upProjection(b, x, v.rows1(b, u1, k), v.rows1(b, bu1, k), k);
    const a2 = upProjection(b, x, v.rows2(b, u2, k), v.rows2(b, bu2, k), k);
    const y12 = mixThrough(b, v.g1, v.g2, a2, v.m, false, maskActive); // [T, U1, k]
    const y21 = mixThrough(b, v.g2, v.g1, a1, v.m, true, maskActive); // [T, U2, k]
    // left = v11·(r1⊙a1) + v12·Y12 + r1ᵀb1;  right = v21·Y21 + v22·(r2⊙a2) + r2ᵀb2
    const left = down(b, [[b.op("Mul", [v.r1, a1]), v.rows1(b, v11, k)], [y12, v.rows1(b, v12, k)], [v.r1, v.rows1(b, b1, 1)]]);
    const right = down(b, [[y21, v.rows2(b, v21, k)], [b.op("Mul", [v.r2, a2]), v.rows2(b, v22, k)], [v.r2, v.rows2(b, b2, 1)]]);
    return b.op("Concat", [left, right], { axis: 1 });
  });
}

async function horizontalExperts(g: GraphBuilder, src: WeightSource, x: string, r: Routing, maskActive: string, p: string, w: WeightFn): Promise<string> {
  const c = src.config;
  const E = c.moeExperts;
  const m = c.moeDim;
  const d = c.hiddenSize;
  const u = await w(`${p}.moe.u.weight`, [E * m, d]);
  const bu = await w(`${p}.moe.u.bias`, [E * m]);
  const vT = await w(`${p}.moe.v.weight`, [E * m, d], (x) => transpose(x, d, E * m));
  const bias = await w(`${p}.moe.b`, [E, d]);
  return expertBranches(g, r, (b, v) => {
    const a = upProjection(b, x, v.rows1(b, u, m), v.rows1(b, bu, m), m);
    const y = mixThrough(b, v.g2, v.g1, a, v.m, true, maskActive); // [T, U2, m]
    // out = v·flat(Y) + r2ᵀb
    return down(b, [[y, v.rows2(b, vT, m)], [v.r2, v.rows2(b, bias, 1)]]);
  });
}
