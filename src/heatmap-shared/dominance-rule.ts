// The dominance test itself (pure, shared by route-shares.ts through src/atlas/dominance.ts
// and by the heatmap's view model, which applies it to aggregated rows and single groups):
// the class with the highest lift is dominant when that lift is ≥ minLift and ≥ minRatio ×
// the second-highest; otherwise none.
import type { DominanceThresholds } from "./route-data";

/**
 * The dominant class under `t`, or null: the class with the highest lift when that lift is
 * ≥ t.minLift and ≥ t.minRatio × the second-highest (a tie names nobody).
 */
export function dominantClass(
  lift: readonly number[] | null | undefined,
  classes: readonly string[],
  t: DominanceThresholds,
): string | null {
  if (!lift || lift.length === 0) return null;
  let best = -1;
  let first = -Infinity;
  let second = -Infinity;
  lift.forEach((x, c) => {
    if (x > first) {
      second = first;
      first = x;
      best = c;
    } else if (x > second) second = x;
  });
  if (best < 0 || !(first >= t.minLift)) return null;
  if (second > 0 && !(first >= t.minRatio * second)) return null;
  if (first === second) return null;
  return classes[best] ?? null;
}
