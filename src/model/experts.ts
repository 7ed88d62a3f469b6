// The expert layer of monet-math.md: the vertical (VD) and horizontal (HD) decompositions,
// with the masking (steering) equations, in two exact forms chosen in the graph: over all
// experts (prefill), or over the union of the experts that survive the router for some
// token and head (decoding), whose weight rows are gathered so that only they are read.
// Quantized graphs always run over all experts, with MatMulNBits over each whole matrix and each
// side's down projections and biases joined into one (docs/quantization.md: on the CPU that
// costs less than gathering quantized rows).
import type { GraphBuilder } from "../onnx/graph-builder";
import {
  transpose,
  type Casts,
  type LinearWeight,
  type MatrixPart,
  type Weights,
  type WeightSource,
} from "./graph-parts";
import { EXPERT_QUANT_BLOCK } from "./quantize";
import { scatterAddOverHeads, type Routing } from "./router";

/** The view's rows of an expert-major tensor [E·rows, …] (all of it, or the union's). */
type Rows = (b: GraphBuilder, weight: string, rows: number) => string;

/**
 * An expert matrix: float, kept expert-major so that the union's rows can be gathered (up
 * projections [E·rows, d] as in the checkpoint, down projections transposed to [E·rows, out]),
 * or quantized, a MatMulNBits matrix over all experts in the checkpoint's [out, in] layout.
 */
type ExpertMatrix = { tensor: string } | { linear: LinearWeight };

/** An up projection u [E·rows, d]. */
async function upMatrix(w: Weights, name: string, n: number, d: number): Promise<ExpertMatrix> {
  return w.quant
    ? { linear: await w.linear(name, [n, d], undefined, EXPERT_QUANT_BLOCK) }
    : { tensor: await w.tensor(name, [n, d]) };
}

/** A down projection v [out, E·rows] (PyTorch's [out, in]). */
async function downMatrix(w: Weights, name: string, out: number, n: number): Promise<ExpertMatrix> {
  return w.quant
    ? { linear: await w.linear(name, [out, n], undefined, EXPERT_QUANT_BLOCK) }
    : { tensor: await w.tensor(name, [n, out], (x) => transpose(x, out, n)) };
}

/** Per-expert output biases b [E, out], weighed by r: as rows, or quantized transposed to [out, E]. */
async function biasMatrix(w: Weights, name: string, E: number, out: number): Promise<ExpertMatrix> {
  return w.quant
    ? { linear: await w.linear(name, [out, E], (x) => transpose(x, E, out), EXPERT_QUANT_BLOCK) }
    : { tensor: await w.tensor(name, [E, out]) };
}

/**
 * One side's down projection: a matrix per block of features (v [out, E·rows] each) and the
 * per-expert biases b [E, out] weighed by r. Quantized graphs join them side by side into one
 * MatMulNBits over the concatenated features [f1 | f2 | r] (one node instead of three, and no
 * Adds; docs/quantization.md); the biases stay apart where E is not whole blocks (the random
 * fixtures). Float graphs keep them separate, for the union's row gathers.
 */
type DownProjection =
  | { joined: LinearWeight; bias?: ExpertMatrix }
  | { matrices: ExpertMatrix[]; bias: ExpertMatrix; rows: number };

/** `names` under `prefix` (e.g. v11, v12 of model.layers.l.moe) with biases `biasName`. */
async function downProjection(
  w: Weights,
  prefix: string,
  names: string[],
  biasName: string,
  E: number,
  out: number,
  rows: number,
): Promise<DownProjection> {
  const parts: MatrixPart[] = names.map((n) => ({ name: `${prefix}.${n}.weight`, dims: [out, E * rows] }));
  const biasPart: MatrixPart = {
    name: `${prefix}.${biasName}`,
    dims: [out, E],
    transform: (x) => transpose(x, E, out),
  };
  const joinedName = `${prefix}.${names.join("+")}`;
  const all = await w.joined?.(joinedName, [...parts, biasPart], "cols", EXPERT_QUANT_BLOCK);
  if (all) return { joined: all };
  const some = await w.joined?.(joinedName, parts, "cols", EXPERT_QUANT_BLOCK);
  if (some) return { joined: some, bias: await biasMatrix(w, biasPart.name, E, out) };
  const matrices: ExpertMatrix[] = [];
  for (const n of names) matrices.push(await downMatrix(w, `${prefix}.${n}.weight`, out, E * rows));
  return { matrices, bias: await biasMatrix(w, biasPart.name, E, out), rows };
}

/** Σ_i features_i·V_iᵀ + rᵀb (features [T, U, rows] blocks, r [T, U]) in the view's rows. */
function applyDown(b: GraphBuilder, rowsOf: Rows, dp: DownProjection, features: string[], r: string): string {
  const flat = (x: string) => b.op("Reshape", [x, b.constI64([0, -1])]);
  if ("matrices" in dp)
    return down(b, [
      ...features.map((f, i): [string, string | LinearWeight] => [
        f,
        part(b, rowsOf, dp.matrices[i]!, dp.rows),
      ]),
      [r, part(b, rowsOf, dp.bias, 1)],
    ]);
  if (!dp.bias) return dp.joined.apply(b, b.op("Concat", [...features.map(flat), flat(r)], { axis: 1 }));
  const main = dp.joined.apply(b, b.op("Concat", features.map(flat), { axis: 1 }));
  return b.op("Add", [main, down(b, [[r, part(b, rowsOf, dp.bias, 1)]])]);
}

/** The view's part of an expert matrix: gathered rows (float) or the whole quantized matrix. */
function part(b: GraphBuilder, rowsOf: Rows, m: ExpertMatrix, rows: number): string | LinearWeight {
  return "tensor" in m ? rowsOf(b, m.tensor, rows) : m.linear;
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
    // [T, H, K, k]
    const carried = b.op("MatMul", [mc, b.op("Mul", [b.op("Unsqueeze", [inner.w, b.constI64([3])]), rows])]);
    const values = b.op("Mul", [b.op("Unsqueeze", [outer.w, b.constI64([3])]), carried]);
    return cast.toDt(scatterAddOverHeads(b, values, outer.idx, a, k), b);
  };
  const fullView: ExpertView = {
    g1: r.g1d,
    g2: r.g2d,
    r1: r.r1d,
    r2: r.r2d,
    lost: lostDense,
    rows1: full,
    rows2: full,
  };
  const un = r.union;
  if (!un) return body(g, fullView);
  // Union view: few experts survive, so the union's dense mask block is cheap.
  const unionView = (b: GraphBuilder): ExpertView => {
    const pick = (t: string, idx: string, axis: number) => b.op("Gather", [t, idx], { axis });
    const lost = (bb: GraphBuilder, toSide: 1 | 2, aDt: string) => {
      const a = cast.toF32(aDt, bb);
      const g1u = pick(r.g1, un.s1, 2); // [T, H, U1] float32
      const g2u = pick(r.g2, un.s2, 2);
      const mu = pick(pick(r.mask, un.s1, 0), un.s2, 1); // [U1, U2]
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
      g1: pick(r.g1d, un.s1, 2),
      g2: pick(r.g2d, un.s2, 2),
      r1: pick(r.r1d, un.s1, 1),
      r2: pick(r.r2d, un.s2, 1),
      lost,
      rows1: union(un.s1),
      rows2: union(un.s2),
    };
  };
  const [out] = g.ifThenElse(
    un.useAll,
    1,
    (b) => [body(b, fullView)],
    (b) => [body(b, unionView(b))],
  );
  return out!;
}

/** relu(u·x + bias)²: [T, U, k]. */
function upProjection(
  b: GraphBuilder,
  x: string,
  weight: string | LinearWeight,
  bias: string,
  k: number,
): string {
  const z =
    typeof weight === "string" ? b.op("Gemm", [x, weight, bias], { transB: 1 }) : weight.apply(b, x, bias);
  const a = b.op("Relu", [z]);
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
function down(b: GraphBuilder, terms: Array<[features: string, weight: string | LinearWeight]>): string {
  const parts = terms.map(([feat, wt]) => {
    const flat = b.op("Reshape", [feat, b.constI64([0, -1])]);
    return typeof wt === "string" ? b.op("MatMul", [flat, wt]) : wt.apply(b, flat);
  });
  return parts.reduce((acc, t) => b.op("Add", [acc, t]));
}

/** What one layer's expert computation reads: its input, its routing and its weights' prefix. */
export interface ExpertLayer {
  g: GraphBuilder;
  src: WeightSource;
  /** The normalised input [T, d]. */
  x: string;
  routing: Routing;
  maskActive: string;
  /** "model.layers.{l}". */
  prefix: string;
  w: Weights;
  cast: Casts;
}

/** The expert layer of the checkpoint's decomposition (moe_decompose). */
export function experts(layer: ExpertLayer): Promise<string> {
  return layer.src.config.moeDecompose === "vertical" ? verticalExperts(layer) : horizontalExperts(layer);
}

async function verticalExperts(layer: ExpertLayer): Promise<string> {
  const { g, src, x, routing: r, maskActive, prefix: p, w, cast } = layer;
  const c = src.config;
  const E = c.moeExperts;
  const k = c.moeDim / 2;
  const d = c.hiddenSize;
  const half = d / 2;
  const u1 = await upMatrix(w, `${p}.moe.u1.weight`, E * k, d);
  const u2 = await upMatrix(w, `${p}.moe.u2.weight`, E * k, d);
  const bu1 = await w.tensor(`${p}.moe.u1.bias`, [E * k]);
  const bu2 = await w.tensor(`${p}.moe.u2.bias`, [E * k]);
  // left = v11·(r1⊙a1) + v12·Y12 + r1ᵀb1;  right = v21·Y21 + v22·(r2⊙a2) + r2ᵀb2
  const leftDown = await downProjection(w, `${p}.moe`, ["v11", "v12"], "b1", E, half, k);
  const rightDown = await downProjection(w, `${p}.moe`, ["v21", "v22"], "b2", E, half, k);
  return expertBranches(g, r, cast, (b, v) => {
    const a1 = upProjection(b, x, part(b, v.rows1, u1, k), v.rows1(b, bu1, k), k);
    const a2 = upProjection(b, x, part(b, v.rows2, u2, k), v.rows2(b, bu2, k), k);
    const y12 = mixThrough(b, v, 1, a2, maskActive); // [T, U1, k]
    const y21 = mixThrough(b, v, 2, a1, maskActive); // [T, U2, k]
    const left = applyDown(b, v.rows1, leftDown, [b.op("Mul", [v.r1, a1]), y12], v.r1);
    const right = applyDown(b, v.rows2, rightDown, [y21, b.op("Mul", [v.r2, a2])], v.r2);
    return b.op("Concat", [left, right], { axis: 1 });
  });
}

async function horizontalExperts(layer: ExpertLayer): Promise<string> {
  const { g, src, x, routing: r, maskActive, prefix: p, w, cast } = layer;
  const c = src.config;
  const E = c.moeExperts;
  const m = c.moeDim;
  const d = c.hiddenSize;
  const u = await upMatrix(w, `${p}.moe.u.weight`, E * m, d);
  const bu = await w.tensor(`${p}.moe.u.bias`, [E * m]);
  // out = v·flat(Y) + r2ᵀb
  const vDown = await downProjection(w, `${p}.moe`, ["v"], "b", E, d, m);
  return expertBranches(g, r, cast, (b, v) => {
    const a = upProjection(b, x, part(b, v.rows1, u, m), v.rows1(b, bu, m), m);
    return applyDown(b, v.rows2, vDown, [mixThrough(b, v, 2, a, maskActive)], v.r2); // Y: [T, U2, m]
  });
}
