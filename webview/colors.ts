// Theme-aware colours: the heat scale runs from the editor's background to a theme colour
// (--heat-hi in heatmap.css, per light / dark / high-contrast theme), and text on a cell
// takes whichever of the editor's foreground and background contrasts more with it.
import { interpolateLab, rgb } from "d3";

export interface Theme {
  kind: "light" | "dark" | "hc-dark" | "hc-light";
  lo: string;
  hi: string;
  fg: string;
  bg: string;
  /** High-contrast themes outline cells with this colour. */
  border: string | null;
}

function kindOf(body: HTMLElement): Theme["kind"] {
  if (body.classList.contains("vscode-high-contrast-light")) return "hc-light";
  if (body.classList.contains("vscode-high-contrast")) return "hc-dark";
  if (body.classList.contains("vscode-dark")) return "dark";
  return "light";
}

function parse(value: string, fallback: string): string {
  const c = rgb(value.trim());
  return Number.isNaN(c.r) ? fallback : c.formatHex();
}

export function readTheme(): Theme {
  const body = document.body;
  const cs = getComputedStyle(body);
  const kind = kindOf(body);
  const dark = kind === "dark" || kind === "hc-dark";
  const bg = parse(cs.getPropertyValue("--heat-lo"), dark ? "#1e1e1e" : "#ffffff");
  const border = cs.getPropertyValue("--vscode-contrastBorder").trim();
  return {
    kind,
    lo: bg,
    // On a light background the theme's chart colour is too light a top: darken it.
    hi: dark
      ? parse(cs.getPropertyValue("--heat-hi"), "#d18616")
      : rgb(parse(cs.getPropertyValue("--heat-hi"), "#1a85ff"))
          .darker(0.7)
          .formatHex(),
    fg: parse(cs.getPropertyValue("--vscode-editor-foreground"), dark ? "#d4d4d4" : "#000000"),
    bg,
    border: kind.startsWith("hc") && border ? parse(border, dark ? "#6fc3df" : "#0f4a85") : null,
  };
}

/** The "no language" column's scale: from the background towards a grey of the foreground. */
export function neutralScale(theme: Theme): (v: number) => string {
  const mix = interpolateLab(theme.lo, interpolateLab(theme.lo, theme.fg)(0.4));
  return (v) => mix(Math.max(0, Math.min(1, v)));
}

/** Colour of share v on a scale whose top is `top`. */
export function heatScale(theme: Theme, top: number): (v: number) => string {
  const mix = interpolateLab(theme.lo, theme.hi);
  return (v) => mix(Math.max(0, Math.min(1, top > 0 ? v / top : 0)));
}

function luminance(color: string): number {
  const c = rgb(color);
  const ch = (x: number) => {
    const s = x / 255;
    return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
  };
  return 0.2126 * ch(c.r) + 0.7152 * ch(c.g) + 0.0722 * ch(c.b);
}

export function contrast(a: string, b: string): number {
  const [x, y] = [luminance(a), luminance(b)].sort((p, q) => q - p) as [number, number];
  return (x + 0.05) / (y + 0.05);
}

/** The theme's foreground or background, whichever reads better on `background`. */
export function textOn(background: string, theme: Theme): string {
  return contrast(background, theme.fg) >= contrast(background, theme.bg) ? theme.fg : theme.bg;
}
