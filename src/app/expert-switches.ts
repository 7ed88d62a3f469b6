// Single experts switched in this workspace's completions (from expert cards): each expert's
// scale (0 masks it, above 1 amplifies it; 1 is no switch) and the named expert sets, both
// persisted in the workspace state. withExpertScales folds them into the steering the
// masked languages give, so they go through the one steering pipeline to the engine.
import { EXPERT_ID, type ExpertSwitchesData, MAX_SCALE, SET_NAME } from "../heatmap-shared/expert-card-data";
import { type Steering, steeringFromScaledExperts } from "../engine/steering";
import { Emitter, type EventLike } from "./emitter";
import type { StateStore } from "./mask-store";

const SCALES_KEY = "monetLens.expertScales";
const SETS_KEY = "monetLens.expertSets";
/** Bounds on what is kept (a workspace state is no database). */
export const MAX_SWITCHED_EXPERTS = 4096;
export const MAX_SETS = 64;

const validScale = (s: unknown): s is number =>
  typeof s === "number" && Number.isFinite(s) && s >= 0 && s <= MAX_SCALE;

export class ExpertSwitches {
  private readonly changed = new Emitter<ExpertSwitchesData>();
  readonly onDidChange: EventLike<ExpertSwitchesData> = this.changed.event;
  private scales: Map<string, number>;
  private sets: Map<string, string[]>;

  constructor(private readonly state: StateStore) {
    // What the state holds is checked like any input: bad entries are dropped.
    const savedScales = state.get<unknown>(SCALES_KEY);
    this.scales = new Map(
      typeof savedScales === "object" && savedScales !== null
        ? Object.entries(savedScales).filter(([x, s]) => EXPERT_ID.test(x) && validScale(s) && s !== 1)
        : [],
    ) as Map<string, number>;
    const savedSets = state.get<unknown>(SETS_KEY);
    this.sets = new Map(
      typeof savedSets === "object" && savedSets !== null
        ? Object.entries(savedSets)
            .filter(([name, xs]) => SET_NAME.test(name) && Array.isArray(xs))
            .map(([name, xs]) => [
              name,
              [
                ...new Set(
                  (xs as unknown[]).filter((x): x is string => typeof x === "string" && EXPERT_ID.test(x)),
                ),
              ],
            ])
        : [],
    );
  }

  current(): ExpertSwitchesData {
    return {
      scales: [...this.scales].sort(([a], [b]) => a.localeCompare(b)),
      sets: [...this.sets]
        .map(([name, experts]) => ({ name, experts: [...experts] }))
        .sort((a, b) => a.name.localeCompare(b.name)),
    };
  }

  /** The switched experts, as [expert, scale ≠ 1]. */
  scaled(): Array<[string, number]> {
    return this.current().scales;
  }

  async setScale(expert: string, scale: number): Promise<void> {
    this.check(expert, scale);
    if ((this.scales.get(expert) ?? 1) === scale) return;
    if (scale === 1) this.scales.delete(expert);
    else {
      if (!this.scales.has(expert) && this.scales.size >= MAX_SWITCHED_EXPERTS)
        throw new Error(`at most ${MAX_SWITCHED_EXPERTS} experts can be switched`);
      this.scales.set(expert, scale);
    }
    await this.save();
  }

  async addToSet(expert: string, set: string): Promise<void> {
    if (!EXPERT_ID.test(expert)) throw new Error(`"${expert}" is not an expert id`);
    if (!SET_NAME.test(set)) throw new Error(`"${set}" is not a set name (letters, digits, space, _ . -)`);
    const members = this.sets.get(set) ?? [];
    if (members.includes(expert)) return;
    if (!this.sets.has(set) && this.sets.size >= MAX_SETS) throw new Error(`at most ${MAX_SETS} expert sets`);
    if (members.length >= MAX_SWITCHED_EXPERTS)
      throw new Error(`a set holds at most ${MAX_SWITCHED_EXPERTS} experts`);
    this.sets.set(set, [...members, expert]);
    await this.save();
  }

  /** Every expert of the set gets `scale` (1: their switches are removed). */
  async applySet(set: string, scale: number): Promise<void> {
    const members = this.sets.get(set);
    if (!members) throw new Error(`there is no expert set "${set}"`);
    this.check(members[0] ?? "g0:0:0", scale);
    for (const x of members) {
      if (scale === 1) this.scales.delete(x);
      else this.scales.set(x, scale);
    }
    if (this.scales.size > MAX_SWITCHED_EXPERTS)
      throw new Error(`at most ${MAX_SWITCHED_EXPERTS} experts can be switched`);
    await this.save();
  }

  async clear(): Promise<void> {
    if (this.scales.size === 0) return;
    this.scales.clear();
    await this.save();
  }

  dispose(): void {
    this.changed.dispose();
  }

  private check(expert: string, scale: number): void {
    if (!EXPERT_ID.test(expert)) throw new Error(`"${expert}" is not an expert id`);
    if (!validScale(scale)) throw new Error(`a scale is a number in [0, ${MAX_SCALE}], not ${scale}`);
  }

  private async save(): Promise<void> {
    await this.state.update(SCALES_KEY, Object.fromEntries(this.scales));
    await this.state.update(SETS_KEY, Object.fromEntries(this.sets));
    this.changed.fire(this.current());
  }
}

/**
 * The steering of the masked languages (or none) with the switched experts folded in: an
 * expert both in a masked language and switched gets the product of the scales. Experts
 * outside the model's shape are left out and named in `ignored`.
 */
export function withExpertScales(
  base: Steering | undefined,
  scaled: ReadonlyArray<readonly [string, number]>,
  shape: { groups: number; experts: number },
): { steering: Steering | undefined; ignored: string[] } {
  if (scaled.length === 0) return { steering: base, ignored: [] };
  const E = shape.experts;
  const perGroup: Array<Array<readonly [number, number]>> = Array.from({ length: shape.groups }, (_, g) => {
    const b = base?.groups[g];
    return b ? b.indices.map((e, k) => [e, b.scales[k]!] as const) : [];
  });
  const ignored: string[] = [];
  for (const [x, scale] of scaled) {
    const m = EXPERT_ID.exec(x);
    const [g, i, j] = m ? [Number(m[1]), Number(m[2]), Number(m[3])] : [-1, -1, -1];
    if (g < 0 || g >= shape.groups || i >= E || j >= E) {
      ignored.push(x);
      continue;
    }
    perGroup[g]!.push([i * E + j, scale]);
  }
  const label = [base?.label, scaled.map(([x, s]) => `${x}×${s}`).join(", ")].filter(Boolean).join(", ");
  const steering = steeringFromScaledExperts(perGroup, E, label);
  return { steering: steering.key ? steering : undefined, ignored };
}
