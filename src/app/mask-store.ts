// The steered languages of this workspace: each language's scale (0 masks its experts, 1
// leaves them alone, above 1 amplifies them), persisted in the workspace state, changed by
// the mask and steer commands and the heatmap's sliders, read by every completion (so a
// change applies at once). Masks are the scale-0 languages; `current()` lists them.
import { MAX_LANGUAGE_SCALE, type SteeringSelection } from "../atlas/steering-selection";
import { Emitter, type EventLike } from "./emitter";

/** The part of vscode.Memento used here. */
export interface StateStore {
  get<T>(key: string): T | undefined;
  update(key: string, value: unknown): Thenable<void>;
}

/** Masked languages (written too, for an older version of the extension reading this workspace). */
const MASKS_KEY = "monetLens.maskedLanguages";
/** Language → scale, without the languages at 1. */
const SCALES_KEY = "monetLens.languageScales";

/** A scale the store keeps: finite, in [0, MAX_LANGUAGE_SCALE]. */
export function validScale(x: unknown): x is number {
  return typeof x === "number" && Number.isFinite(x) && x >= 0 && x <= MAX_LANGUAGE_SCALE;
}

export class MaskStore {
  private readonly changed = new Emitter<readonly string[]>();
  /** Sorted by language; never a scale of 1. */
  private scaleMap: Readonly<Record<string, number>>;
  private masked: readonly string[];
  private selectionValue: SteeringSelection;
  /** Fires the masked languages after any change of a scale. */
  readonly onDidChange: EventLike<readonly string[]> = this.changed.event;

  constructor(private readonly state: StateStore) {
    const saved = state.get<unknown>(SCALES_KEY);
    const legacy = state.get<unknown>(MASKS_KEY);
    this.scaleMap =
      typeof saved === "object" && saved !== null && !Array.isArray(saved)
        ? normalise(Object.entries(saved as Record<string, unknown>))
        : Array.isArray(legacy)
          ? normalise(legacy.filter((x): x is string => typeof x === "string").map((l) => [l, 0]))
          : {};
    this.masked = maskedOf(this.scaleMap);
    this.selectionValue = { languages: this.scaleMap };
  }

  /** The masked languages (scale 0), sorted. */
  current(): readonly string[] {
    return this.masked;
  }

  /** Language → scale for every language not at 1 (the same object until something changes). */
  scales(): Readonly<Record<string, number>> {
    return this.scaleMap;
  }

  /** What the resolver takes (the same object until something changes). */
  selection(): SteeringSelection {
    return this.selectionValue;
  }

  /** Masks exactly `languages`; languages scaled above 0 keep their scale unless masked now. */
  set(languages: readonly string[]): Promise<void> {
    const next: Array<[string, unknown]> = Object.entries(this.scaleMap).filter(([, s]) => s !== 0);
    for (const l of languages) next.push([l, 0]);
    return this.replace(normalise(next));
  }

  /** One language's scale (1: unsteered). A scale out of range is refused. */
  setScale(language: string, scale: number): Promise<void> {
    if (!validScale(scale))
      throw new RangeError(`${language}: scale ${scale} is not a number in [0, ${MAX_LANGUAGE_SCALE}]`);
    return this.replace(normalise([...Object.entries(this.scaleMap), [language, scale]]));
  }

  /** Every language's scale at once (languages left out are at 1). */
  setScales(scales: Readonly<Record<string, number>>): Promise<void> {
    return this.replace(normalise(Object.entries(scales)));
  }

  toggle(language: string): Promise<void> {
    return this.setScale(language, this.scaleMap[language] === 0 ? 1 : 0);
  }

  /** Every language back to 1: no masks, no steering. */
  clear(): Promise<void> {
    return this.replace({});
  }

  dispose(): void {
    this.changed.dispose();
  }

  private async replace(next: Readonly<Record<string, number>>): Promise<void> {
    const a = Object.entries(this.scaleMap);
    const b = Object.entries(next);
    if (a.length === b.length && a.every(([l, s], i) => b[i]![0] === l && b[i]![1] === s)) return;
    this.scaleMap = next;
    this.masked = maskedOf(next);
    this.selectionValue = { languages: next };
    await this.state.update(SCALES_KEY, next);
    await this.state.update(MASKS_KEY, this.masked);
    this.changed.fire(this.masked);
  }
}

/** Trimmed, non-empty languages with valid scales, sorted; the last entry for a language wins; 1s dropped. */
function normalise(entries: ReadonlyArray<readonly [string, unknown]>): Record<string, number> {
  const m = new Map<string, number>();
  for (const [l, s] of entries) {
    const lang = l.trim();
    if (lang !== "" && validScale(s)) m.set(lang, s);
  }
  return Object.fromEntries(
    [...m].filter(([, s]) => s !== 1).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
  );
}

function maskedOf(scales: Readonly<Record<string, number>>): string[] {
  return Object.keys(scales).filter((l) => scales[l] === 0);
}
