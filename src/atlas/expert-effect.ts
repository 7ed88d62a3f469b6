// An expert card's "effect here": the exact change of the next-token distribution at a
// prompt when one expert alone is switched off or scaled. The engine's steering is a
// callback (LogitsWith), so this module needs no engine and is tested with a fake; the
// extension wires it to its steering of one expert (effectAt: the same seam over any
// engine that gives next-token logits and greedy continuations under a Steering).
import { type Steering, steeringFromScaledExperts } from "../engine/steering";
import type { ExpertEffect, TokenChange } from "../heatmap-shared/expert-card-data";
import { type ExpertId, formatExpertId } from "./expert-id";

/** One expert's scale, for the engine's steering: its routing score is multiplied by `scale` (0 switches it off). */
export interface OneExpertScale extends ExpertId {
  scale: number;
}

/**
 * The next-token logits at the cursor (vocabulary-sized) with one expert scaled, or with
 * nothing changed (null). The engine's steering supplies it (effectAt, oneExpertSteering).
 */
export type LogitsWith = (scale: OneExpertScale | null) => Promise<Float32Array>;

export type { ExpertEffect, TokenChange };

function softmax(logits: Float32Array): Float64Array {
  let max = -Infinity;
  for (const v of logits) if (v > max) max = v;
  const p = new Float64Array(logits.length);
  let z = 0;
  for (let k = 0; k < logits.length; k++) z += p[k] = Math.exp(logits[k]! - max);
  for (let k = 0; k < p.length; k++) p[k]! /= z;
  return p;
}

/**
 * The card's "effect here": the exact change of the next-token distribution when expert
 * `x` alone is scaled by `scale` (default 0: switched off), from two calls of `logitsWith`.
 */
export async function expertEffect(
  logitsWith: LogitsWith,
  x: ExpertId,
  opts: {
    scale?: number;
    top?: number;
    piece?: (id: number) => string;
    continueWith?: (scale: OneExpertScale | null) => Promise<string>;
  } = {},
): Promise<ExpertEffect> {
  const scale = opts.scale ?? 0;
  if (!(scale >= 0) || !Number.isFinite(scale))
    throw new RangeError(`a scale must be a number ≥ 0, got ${scale}`);
  const change: OneExpertScale = { ...x, scale };
  const before = softmax(await logitsWith(null));
  const after = softmax(await logitsWith(change));
  if (before.length !== after.length) throw new Error("the two logits have different sizes");
  const piece = opts.piece ?? ((id: number) => String(id));
  const tc = (id: number): TokenChange => ({
    id,
    piece: piece(id),
    before: before[id]!,
    after: after[id]!,
    delta: after[id]! - before[id]!,
  });
  let kl = 0;
  let b1 = 0;
  let a1 = 0;
  for (let k = 0; k < before.length; k++) {
    if (before[k]! > 0) kl += before[k]! * Math.log(before[k]! / Math.max(after[k]!, 1e-300));
    if (before[k]! > before[b1]!) b1 = k;
    if (after[k]! > after[a1]!) a1 = k;
  }
  const ids = Array.from(before.keys());
  const n = opts.top ?? 5;
  const delta = (k: number) => after[k]! - before[k]!;
  // Changes within 1e-9 are rounding, not an effect.
  const up = [...ids]
    .sort((p, q) => delta(q) - delta(p))
    .slice(0, n)
    .filter((k) => delta(k) > 1e-9);
  const down = [...ids]
    .sort((p, q) => delta(p) - delta(q))
    .slice(0, n)
    .filter((k) => delta(k) < -1e-9);
  const effect: ExpertEffect = {
    expert: formatExpertId(x),
    scale,
    kl: Math.max(0, kl),
    top1: { before: tc(b1), after: tc(a1) },
    up: up.map(tc),
    down: down.map(tc),
  };
  if (opts.continueWith)
    effect.continuation = { before: await opts.continueWith(null), after: await opts.continueWith(change) };
  return effect;
}

/** The engine's Steering for one expert scaled (flat index i·E + j in its group; 0 masks it). */
export function oneExpertSteering(s: OneExpertScale, shape: { groups: number; experts: number }): Steering {
  if (s.group >= shape.groups || s.i >= shape.experts || s.j >= shape.experts)
    throw new RangeError(
      `no expert ${formatExpertId(s)} in a model of ${shape.groups} groups × ${shape.experts}²`,
    );
  const perGroup = Array.from({ length: shape.groups }, (_, g) =>
    g === s.group ? [[s.i * shape.experts + s.j, s.scale] as const] : [],
  );
  return steeringFromScaledExperts(perGroup, shape.experts, `${formatExpertId(s)}×${s.scale}`);
}

/** What the effect needs from an engine (the CLI's Engine and the extension's engine host adapt to it). */
export interface EffectModel {
  readonly shape: { groups: number; experts: number };
  /** Next-token logits after the prompt under the steering (none: the model as it is). */
  nextLogits(prompt: string, steering: Steering | undefined): Promise<Float32Array>;
  /** The greedy continuation of the prompt, `maxTokens` tokens at most, under the steering. */
  greedy(prompt: string, steering: Steering | undefined, maxTokens: number): Promise<string>;
  /** A token's piece, for people. */
  piece(id: number): string;
}

/**
 * The effect of scaling expert `x` (default: switching it off) at the end of `prompt`: the
 * next-token distribution without and with it (one forward pass each, exact), and the greedy
 * continuations of `continuationTokens` tokens (default 16; 0: none).
 */
export function effectAt(
  model: EffectModel,
  prompt: string,
  x: ExpertId,
  opts: { scale?: number; top?: number; continuationTokens?: number } = {},
): Promise<ExpertEffect> {
  const steer = (s: OneExpertScale | null) => (s ? oneExpertSteering(s, model.shape) : undefined);
  const n = opts.continuationTokens ?? 16;
  return expertEffect((s) => model.nextLogits(prompt, steer(s)), x, {
    scale: opts.scale,
    top: opts.top,
    piece: (id) => model.piece(id),
    continueWith: n > 0 ? (s) => model.greedy(prompt, steer(s), n) : undefined,
  });
}
