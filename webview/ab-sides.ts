// The A/B tab's choice of the two settings it compares: no steering, the current steering,
// or a saved one (the current steering kept with "Save current"). Posts setCompareSides and
// saveSteering; the extension answers with compareSides, which sets the selects.
import type { ToWebview } from "../src/heatmap-shared/messages";
import { COMPARE_SIDES, type CompareSide, scalesLabel } from "../src/heatmap-shared/steer";

type SidesMessage = Extract<ToWebview, { type: "compareSides" }>;

const NAMES: Record<CompareSide, string> = {
  none: "No steering",
  current: "Current steering",
  saved: "Saved",
};

export class AbSides {
  constructor(
    private readonly a: HTMLSelectElement,
    private readonly b: HTMLSelectElement,
    save: HTMLElement,
    post: (m: { type: "setCompareSides"; a: CompareSide; b: CompareSide } | { type: "saveSteering" }) => void,
  ) {
    for (const select of [a, b])
      select.replaceChildren(
        ...COMPARE_SIDES.map((side) => {
          const o = document.createElement("option");
          o.value = side;
          o.textContent = NAMES[side];
          return o;
        }),
      );
    a.value = "none";
    b.value = "current";
    const changed = () => {
      const sa = a.value as CompareSide;
      const sb = b.value as CompareSide;
      if (COMPARE_SIDES.includes(sa) && COMPARE_SIDES.includes(sb))
        post({ type: "setCompareSides", a: sa, b: sb });
    };
    a.addEventListener("change", changed);
    b.addEventListener("change", changed);
    save.addEventListener("click", () => post({ type: "saveSteering" }));
  }

  update(m: SidesMessage): void {
    this.a.value = m.a;
    this.b.value = m.b;
    for (const select of [this.a, this.b]) {
      const saved = select.querySelector<HTMLOptionElement>('option[value="saved"]')!;
      saved.textContent = m.saved ? `Saved: ${scalesLabel(m.saved) || "none"}` : "Saved (none yet)";
      saved.disabled = m.saved === null;
    }
  }
}
