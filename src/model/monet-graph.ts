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

/** Per routing group: the surviving experts and their routing weights, in union space. */
interface Routing {
  s1: string; // int64 [U1]: expert indices i with g1 > 0 for some token and head
  s2: string; // int64 [U2]
  g1u: string; // [T, H, U1]
  g2u: string; // [T, H, U2]
  r1: string; // [T, U1, 1]  Σ_h g1 (masked where masks apply)
  r2: string; // [T, U2, 1]
  mu: string; // [U1, U2] the group's mask restricted to the union
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
    // The union of surviving experts over tokens and heads.
    const alive = g.op("Greater", [g.op("ReduceSum", [gk, g.constI64([0, 1])], { keepdims: 0 }), g.scalarF32(0)]);
    const sIdx = g.op("Squeeze", [g.op("NonZero", [alive]), g.constI64([0])]); // [U]
    const gu = g.op("Gather", [gk, sIdx], { axis: 2 }); // [T, H, U]
    return { sIdx, gu };
  };
  const one = await side(1);
  const two = await side(2);
  const mu = g.op("Gather", [g.op("Gather", [mask, one.sIdx], { axis: 0 }), two.sIdx], { axis: 1 }); // [U1, U2]
  const sumHeads = (t: string) => g.op("Unsqueeze", [g.op("ReduceSum", [t, g.constI64([1])], { keepdims: 0 }), g.constI64([2])]); // [T, U, 1]
  // Masked: r1[i] = Σ_h g1[h,i]·(1 − Σ_j M[i,j] g2[h,j]), r2 likewise (monet-math.md, masking).
  const [r1, r2] = g.ifThenElse(
    maskActive,
    2,
    (b) => {
      const q2 = b.op("MatMul", [two.gu, b.op("Transpose", [mu], { perm: [1, 0] })]); // [T, H, U1]
      const q1 = b.op("MatMul", [one.gu, mu]); // [T, H, U2]
      const keep = (gu: string, q: string) => b.op("Mul", [gu, b.op("Sub", [b.scalarF32(1), q])]);
      return [sumHeadsIn(b, keep(one.gu, q2)), sumHeadsIn(b, keep(two.gu, q1))];
    },
    () => [sumHeads(one.gu), sumHeads(two.gu)],
  );
  return { s1: one.sIdx, s2: two.sIdx, g1u: one.gu, g2u: two.gu, r1: r1!, r2: r2!, mu };
}

function sumHeadsIn(b: GraphBuilder, t: string): string {
  return b.op("Unsqueeze", [b.op("ReduceSum", [t, b.constI64([1])], { keepdims: 0 }), b.constI64([2])]);
}

/** relu(u·x + bias)² for the union's experts: [T, U, k]. */
function upProjection(g: GraphBuilder, x: string, weight: string, bias: string, idx: string, k: number, d: number): string {
  const wu = g.op("Reshape", [g.op("Gather", [weight, idx], { axis: 0 }), g.constI64([-1, d])]);
  const bu = g.op("Reshape", [g.op("Gather", [bias, idx], { axis: 0 }), g.constI64([-1])]);
  const a = g.op("Relu", [g.op("Gemm", [x, wu, bu], { transB: 1 })]);
  return g.op("Reshape", [g.op("Mul", [a, a]), g.constI64([0, -1, k])]);
}

/** Σ_h g[t,h,i]·(Σ_j M'[i,j] g'[t,h,j] a'[t,j,:]): the part of Y that masked experts carry. */
function maskedCarry(b: GraphBuilder, gOut: string, gIn: string, aIn: string, m: string): string {
  const weighted = b.op("Mul", [b.op("Unsqueeze", [gIn, b.constI64([3])]), b.op("Unsqueeze", [aIn, b.constI64([1])])]); // [T, H, U', k]
  const carried = b.op("MatMul", [m, weighted]); // [T, H, U, k]
  return b.op("ReduceSum", [b.op("Mul", [b.op("Unsqueeze", [gOut, b.constI64([3])]), carried]), b.constI64([1])], { keepdims: 0 }); // [T, U, k]
}

/** Y[t,i,:] = Σ_h g[t,h,i]·(Σ_j g'[t,h,j] a'[t,j,:]), minus what masked experts carry. */
function mixThrough(g: GraphBuilder, gOut: string, gIn: string, aIn: string, m: string, mT: boolean, maskActive: string): string {
  const pooled = g.op("MatMul", [gIn, aIn]); // [T, H, k]
  const y = g.op("MatMul", [g.op("Transpose", [gOut], { perm: [0, 2, 1] }), pooled]); // [T, U, k]
  const [out] = g.ifThenElse(
    maskActive,
    1,
    (b) => [b.op("Sub", [y, maskedCarry(b, gOut, gIn, aIn, mT ? b.op("Transpose", [m], { perm: [1, 0] }) : m)])],
    () => [y],
  );
  return out!;
}

/** Rows of the down projection per expert, gathered for the union, times [features, r]. */
function downProjection(g: GraphBuilder, features: string[], weight: string, idx: string, width: number): string {
  const wd = g.op("Reshape", [g.op("Gather", [weight, idx], { axis: 0 }), g.constI64([-1, width])]);
  const feats = g.op("Reshape", [g.op("Concat", features, { axis: 2 }), g.constI64([0, -1])]);
  return g.op("MatMul", [feats, wd]);
}

async function verticalExperts(g: GraphBuilder, src: WeightSource, x: string, r: Routing, maskActive: string, p: string, w: WeightFn): Promise<string> {
  const c = src.config;
  const E = c.moeExperts;
  const k = c.moeDim / 2;
  const d = c.hiddenSize;
  const half = d / 2;
  const up = async (s: 1 | 2, idx: string) =>
    upProjection(g, x, await w(`${p}.moe.u${s}.weight`, [E, k, d]), await w(`${p}.moe.u${s}.bias`, [E, k]), idx, k, d);
  const a1v = await up(1, r.s1);
  const a2v = await up(2, r.s2);
  const y12 = mixThrough(g, r.g1u, r.g2u, a2v, r.mu, false, maskActive); // [T, U1, k]
  const y21 = mixThrough(g, r.g2u, r.g1u, a1v, r.mu, true, maskActive); // [T, U2, k]
  // Down weights per expert: [v11ᵀ rows; v12ᵀ rows; b1] for the left half, likewise right.
  const rows = (va: Float32Array, vb: Float32Array, bias: Float32Array) => {
    const out = new Float32Array(E * (2 * k + 1) * half);
    for (let e = 0; e < E; e++) {
      for (let j = 0; j < k; j++) {
        const o1 = (e * (2 * k + 1) + j) * half;
        const o2 = (e * (2 * k + 1) + k + j) * half;
        for (let col = 0; col < half; col++) {
          out[o1 + col] = va[col * E * k + e * k + j]!;
          out[o2 + col] = vb[col * E * k + e * k + j]!;
        }
      }
      out.set(bias.subarray(e * half, (e + 1) * half), (e * (2 * k + 1) + 2 * k) * half);
    }
    return out;
  };
  const left = g.weight(`${p}.moe.left`, "float32", [E, 2 * k + 1, half], rows(await src.readFloat32(`${p}.moe.v11.weight`), await src.readFloat32(`${p}.moe.v12.weight`), await src.readFloat32(`${p}.moe.b1`)));
  const right = g.weight(`${p}.moe.right`, "float32", [E, 2 * k + 1, half], rows(await src.readFloat32(`${p}.moe.v21.weight`), await src.readFloat32(`${p}.moe.v22.weight`), await src.readFloat32(`${p}.moe.b2`)));
  // left = v11·(r1⊙a1) + v12·Y12 + r1ᵀb1;  right = v21·Y21 + v22·(r2⊙a2) + r2ᵀb2
  const outL = downProjection(g, [g.op("Mul", [r.r1, a1v]), y12, r.r1], left, r.s1, half);
  // For the right half the per-expert rows are [v21ᵀ; v22ᵀ; b2], so features are [Y21, r2⊙a2, r2].
  const outR = downProjection(g, [y21, g.op("Mul", [r.r2, a2v]), r.r2], right, r.s2, half);
  return g.op("Concat", [outL, outR], { axis: 1 });
}

async function horizontalExperts(g: GraphBuilder, src: WeightSource, x: string, r: Routing, maskActive: string, p: string, w: WeightFn): Promise<string> {
  const c = src.config;
  const E = c.moeExperts;
  const m = c.moeDim;
  const d = c.hiddenSize;
  const a = upProjection(g, x, await w(`${p}.moe.u.weight`, [E, m, d]), await w(`${p}.moe.u.bias`, [E, m]), r.s1, m, d);
  const y = mixThrough(g, r.g2u, r.g1u, a, r.mu, true, maskActive); // [T, U2, m]
  const v = await src.readFloat32(`${p}.moe.v.weight`); // [d, E·m]
  const b = await src.readFloat32(`${p}.moe.b`); // [E, d]
  const rows = new Float32Array(E * (m + 1) * d);
  for (let e = 0; e < E; e++) {
    for (let j = 0; j < m; j++) {
      const o = (e * (m + 1) + j) * d;
      for (let col = 0; col < d; col++) rows[o + col] = v[col * E * m + e * m + j]!;
    }
    rows.set(b.subarray(e * d, (e + 1) * d), (e * (m + 1) + m) * d);
  }
  const down = g.weight(`${p}.moe.down`, "float32", [E, m + 1, d], rows);
  return downProjection(g, [y, r.r2], down, r.s2, d);
}
