// The legend: the fixed colour scale of the cells (lift over baseline, log scale from 1× to
// LIFT_TOP; or the raw share from 0 to SHARE_TOP), the "no language" column's grey scale,
// the dominance rule as the data states it, and what the columns and marks mean.
import { axisBottom, scaleLinear, scaleLog, select } from "d3";
import { className } from "../src/heatmap-shared/class-names";
import { LIFT_TOP, type HeatView, type Metric, SHARE_TOP } from "../src/heatmap-shared/view-model";
import { el } from "./dom";

const WIDTH = 150;
const GREY_W = 60;
const BAR_H = 10;
let gradientSeq = 0;

export function drawLegend(
  svgEl: SVGSVGElement,
  notes: HTMLElement,
  view: HeatView | null,
  metric: Metric,
  color: (v: number) => string,
  neutral: (v: number) => string,
): void {
  const svg = select(svgEl);
  svg.selectAll("*").remove();
  if (!view || view.columns.length === 0) {
    svgEl.setAttribute("hidden", "");
    notes.replaceChildren();
    return;
  }
  svgEl.removeAttribute("hidden");
  const m = { left: 10, right: 16, gap: 26 };
  const lift = metric === "lift";
  svg
    .attr("width", m.left + WIDTH + m.gap + GREY_W + m.right)
    .attr("height", 42)
    .attr(
      "aria-label",
      lift
        ? `Colour scale: lift over baseline, from 1× (no colour) to ${LIFT_TOP}× or more; no language: share from 0 to 100%`
        : `Colour scale: share of the routing mass, from 0 to ${SHARE_TOP * 100}% or more; no language: share from 0 to 100%`,
    );
  const bar = (x0: number, width: number, f: (v: number) => string, title: string) => {
    const id = `heat-gradient-${++gradientSeq}`;
    const grad = svg.append("defs").append("linearGradient").attr("id", id).attr("x2", "1").attr("y2", "0");
    for (let k = 0; k <= 10; k++)
      grad
        .append("stop")
        .attr("offset", `${k * 10}%`)
        .attr("stop-color", f(k / 10));
    const g = svg.append("g").attr("transform", `translate(${x0},14)`);
    g.append("text").attr("class", "legend-title").attr("y", -4).text(title);
    g.append("rect")
      .attr("class", "legend-bar")
      .attr("width", width)
      .attr("height", BAR_H)
      .attr("fill", `url(#${id})`);
    return g;
  };
  const main = bar(m.left, WIDTH, color, lift ? "lift over baseline" : "share of routing mass");
  if (lift) {
    const x = scaleLog().base(2).domain([1, LIFT_TOP]).range([0, WIDTH]);
    main
      .append("g")
      .attr("class", "legend-axis")
      .attr("transform", `translate(0,${BAR_H})`)
      .call(
        axisBottom(x)
          .tickValues([1, 2, 3, 4, LIFT_TOP])
          .tickSize(4)
          .tickFormat((d) => `${Number(d)}×${Number(d) === LIFT_TOP ? "+" : ""}`),
      );
  } else {
    const x = scaleLinear().domain([0, SHARE_TOP]).range([0, WIDTH]);
    main
      .append("g")
      .attr("class", "legend-axis")
      .attr("transform", `translate(0,${BAR_H})`)
      .call(
        axisBottom(x)
          .tickValues([0, 0.05, 0.1, 0.15, 0.2, SHARE_TOP])
          .tickSize(4)
          .tickFormat((d) => `${Math.round(Number(d) * 100)}%${Number(d) === SHARE_TOP ? "+" : ""}`),
      );
  }
  const grey = bar(m.left + WIDTH + m.gap, GREY_W, neutral, "no language");
  grey
    .append("g")
    .attr("class", "legend-axis")
    .attr("transform", `translate(0,${BAR_H})`)
    .call(
      axisBottom(scaleLinear().domain([0, 1]).range([0, GREY_W]))
        .tickValues([0, 1])
        .tickSize(4)
        .tickFormat((d) => `${Number(d) * 100}%`),
    );

  const what =
    view.group === "all"
      ? `mean of ${view.groups} routing group${view.groups === 1 ? "" : "s"}`
      : `routing group ${view.group}`;
  const parts: Node[] = [
    el(
      "span",
      "legend-what",
      lift
        ? `Lift = share of the token's routing mass ÷ the class's baseline (its mean share over the atlas corpus); 1× is chance (${what}).`
        : `Cells: share of each token's routing mass held by the class's experts (${what}).`,
    ),
  ];
  if (!view.hasLift)
    parts.push(
      el(
        "span",
        "legend-rule",
        "This atlas has no baselines (version 1): shares only, no class is called dominant.",
      ),
    );
  else if (view.rule) {
    // The rule in short, and in full (the data's own sentence) when opened.
    const r = view.rule;
    const rule = el("details", "legend-rule");
    rule.append(
      el(
        "summary",
        undefined,
        `Dominant: lift ≥ ${r.token.minLift}× for a token (≥ ${r.selection.minLift}× for the selection) and ≥ ${r.token.minRatio}× the next class; else none`,
      ),
      el("span", "legend-rule-text", r.text),
    );
    parts.push(rule);
  }
  if (view.controls.length)
    parts.push(
      el(
        "span",
        "legend-control",
        `${view.controls.map(className).join(", ")}: a control class (English prose), not a language; not maskable.`,
      ),
    );
  if (view.masked.some(Boolean)) {
    const masked = el("span", "legend-masked");
    masked.append(el("span", "swatch masked"), document.createTextNode(" masked"));
    parts.push(masked);
  }
  if (view.tokensPerRow > 1)
    parts.push(
      el(
        "span",
        "legend-agg",
        `${view.tokenCount.toLocaleString("en")} tokens: ${view.tokensPerRow} per row (means).`,
      ),
    );
  notes.replaceChildren(...parts);
}
