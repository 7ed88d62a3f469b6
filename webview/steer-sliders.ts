// The heatmap header's steering sliders: one per atlas language, the scale of its experts
// (0 masks them, 1 leaves them alone, up to SLIDER.max amplifies them). Moving a slider shows
// the value at once and posts setScale when it is let go; the extension checks it again and
// answers with the masks message, which sets every slider (also after a change elsewhere).
import { type LanguageScales, SLIDER } from "../src/heatmap-shared/steer";
import { el } from "./dom";

/** "off" at 0, "×1.5" otherwise. */
export function scaleText(scale: number): string {
  return scale === 0 ? "off" : `×${Number(scale.toPrecision(4))}`;
}

export class SteerSliders {
  private languages: readonly string[] = [];
  private readonly inputs = new Map<string, { input: HTMLInputElement; value: HTMLElement }>();

  constructor(
    private readonly root: HTMLElement,
    private readonly onScale: (language: string, scale: number) => void,
  ) {}

  /** Draws a slider per language (none without an atlas) at the given scales. */
  update(languages: readonly string[] | null, scales: LanguageScales): void {
    const langs = languages ?? [];
    if (langs.join(",") !== this.languages.join(",")) this.build(langs);
    for (const [lang, { input, value }] of this.inputs) {
      const s = scales[lang] ?? 1;
      // A scale above the slider's range (from the command or the CLI) pins it at its end.
      input.value = String(Math.min(Math.max(s, SLIDER.min), SLIDER.max));
      value.textContent = scaleText(s);
      const row = input.closest(".steer-item")!;
      row.classList.toggle("steered", s !== 1);
      row.classList.toggle("masked", s === 0);
      input.setAttribute("aria-valuetext", scaleText(s));
    }
    this.root.hidden = langs.length === 0;
  }

  private build(langs: readonly string[]): void {
    this.languages = [...langs];
    this.inputs.clear();
    const items = langs.map((lang) => {
      const item = el("label", "steer-item");
      item.dataset.language = lang;
      const input = el("input");
      input.type = "range";
      input.min = String(SLIDER.min);
      input.max = String(SLIDER.max);
      input.step = String(SLIDER.step);
      input.value = "1";
      input.setAttribute("aria-label", `Scale of ${lang}'s experts`);
      input.title = `${lang}: 0 masks its experts, 1 leaves them alone, above 1 amplifies them`;
      const value = el("span", "steer-value", "×1");
      input.addEventListener("input", () => (value.textContent = scaleText(Number(input.value))));
      input.addEventListener("change", () => {
        const scale = Number(input.value);
        if (Number.isFinite(scale)) this.onScale(lang, scale);
      });
      // Double-click puts a language back to 1.
      input.addEventListener("dblclick", () => {
        input.value = "1";
        value.textContent = "×1";
        this.onScale(lang, 1);
      });
      this.inputs.set(lang, { input, value });
      item.append(el("span", "steer-lang", lang), input, value);
      return item;
    });
    const title = el("span", "steer-title", "Steer");
    title.title = "Scale each language's experts (double-click a slider: back to ×1)";
    this.root.replaceChildren(title, ...items);
  }
}
