// Language steering as the routing view and the extension share it: language → the scale of
// its experts (0 masks them, 1 leaves them alone, above 1 amplifies them), without the
// languages at 1; the settings the A/B view compares; labels for people.

/** Language → scale of its experts; a language not listed is at 1. */
export type LanguageScales = Readonly<Record<string, number>>;

/** The largest scale a language may get (the fixtures go to 3; far above, the model breaks down). */
export const MAX_STEER_SCALE = 100;

/** The sliders' range and step (a larger scale comes from the command or the CLI). */
export const SLIDER = { min: 0, max: 3, step: 0.25 } as const;

/** What each side of the A/B view runs under: nothing, the current steering, or a saved one. */
export type CompareSide = "none" | "current" | "saved";
export const COMPARE_SIDES: readonly CompareSide[] = ["none", "current", "saved"];

/** "−python, rust×1.5" (masked languages with a minus); "" when nothing is steered. */
export function scalesLabel(scales: LanguageScales, sep = ", "): string {
  return Object.entries(scales)
    .filter(([, s]) => s !== 1)
    .map(([l, s]) => (s === 0 ? `−${l}` : `${l}×${s}`))
    .join(sep);
}

/** Whether two settings steer the same languages by the same scales. */
export function sameScales(a: LanguageScales, b: LanguageScales): boolean {
  const ka = Object.keys(a).filter((l) => a[l] !== 1);
  const kb = Object.keys(b).filter((l) => b[l] !== 1);
  return ka.length === kb.length && ka.every((l) => b[l] === a[l]);
}
