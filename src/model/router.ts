// The router of monet-math.md ("Router"), one per routing group: BatchNorm-normalised scores
// choose the surviving experts, raw scores weigh them, and a data-dependent number survives
// per token and head. Also the routing sums r1, r2 with the masking (steering) correction
// of each token's surviving pairs ("Masking experts"), and the compact per-token view of
// the survivors that the expert layers use under masks.
import type { GraphBuilder } from "../onnx/graph-builder";
import type { Casts, WeightFn, WeightSource } from "./graph-parts";
import { io } from "./graph-io";
import { normalQuantile } from "./normal-quantile";

/** Inputs longer than this take the all-experts path even if some experts are idle. */
const UNION_MAX_TOKENS = 8;

/**
 * Per routing group. The full routing (g [T, H, E], r = Σ_h g, masked where masks apply)
 * serves prefill, where every expert survives for some token; the union view (indices of
 * the surviving experts and g, r, M restricted to them) serves short inputs and decoding.
 */
export interface Routing {
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
  /** The union of surviving experts (absent when the expert layers always run over all). */
  union?: {
    useAll: string; // bool: run over all experts (else over the union of survivors)
    s1: string; // int64 [U1]: experts that survive for some token and head
    s2: string; // int64 [U2]
  };
}

export interface Compact {
  idx: string; // int64 [T, H, K]
  w: string; // [T, H, K]
}

/** Router of monet-math.md: BatchNorm-normalised scores choose, raw scores weigh. */
export async function router(
  g: GraphBuilder,
  src: WeightSource,
  x: string,
  l: number,
  group: number,
  mask: string,
  maskActive: string,
  w: WeightFn,
  cast: Casts,
  /** Whether the expert layers may run over the union of survivors (decoding). */
  union: boolean,
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
    if (!union) return { g: gk, sIdx: "", all: "" };
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
    union: union
      ? {
          // All experts, when all survive or more than a few tokens run (prefill): then the
          // compact per-token mask correction beats the union's dense mask block.
          useAll: g.op("Or", [
            g.op("Squeeze", [g.op("And", [one.all, two.all]), g.constI64([0])]),
            g.op("Greater", [g.op("Shape", [x], { start: 0, end: 1 }), g.constI64([UNION_MAX_TOKENS])]),
          ]),
          s1: one.sIdx,
          s2: two.sIdx,
        }
      : undefined,
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
export function scatterAddOverHeads(
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
