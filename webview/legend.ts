// The legend: the colour scale from 0 to the top of the view's values, with ticks in
// percent, and what the columns and marks mean.
import { axisBottom, format, scaleLinear, select } from "d3";
import type { HeatView } from "../src/heatmap-shared/view-model";
import { el } from "./dom";

const WIDTH = 180;
const BAR_H = 10;
let gradientSeq = 0;

export function drawLegend(
  svgEl: SVGSVGElement,
  notes: HTMLElement,
  view: HeatView | null,
  top: number,
  color: (v: number) => string,
): void {
  const svg = select(svgEl);
  svg.selectAll("*").remove();
  if (!view || view.languages.length === 0) {
    svgEl.setAttribute("hidden", "");
    notes.replaceChildren();
    return;
  }
  svgEl.removeAttribute("hidden");
  const m = { left: 8, right: 14 };
  svg
    .attr("width", WIDTH + m.left + m.right)
    .attr("height", 30)
    .attr("aria-label", `Colour scale: share of routing mass from 0 to ${format(".0%")(top)}`);
  const id = `heat-gradient-${++gradientSeq}`;
  const grad = svg
    .append("defs")
    .append("linearGradient")
    .attr("id", id)
    .attr("x1", "0")
    .attr("x2", "1")
    .attr("y1", "0")
    .attr("y2", "0");
  for (let k = 0; k <= 10; k++)
    grad
      .append("stop")
      .attr("offset", `${k * 10}%`)
      .attr("stop-color", color((k / 10) * top));
  const g = svg.append("g").attr("transform", `translate(${m.left},2)`);
  g.append("rect")
    .attr("class", "legend-bar")
    .attr("width", WIDTH)
    .attr("height", BAR_H)
    .attr("fill", `url(#${id})`);
  const x = scaleLinear().domain([0, top]).range([0, WIDTH]);
  const fmt = format(top <= 0.05 ? ".1%" : ".0%");
  g.append("g")
    .attr("class", "legend-axis")
    .attr("transform", `translate(0,${BAR_H})`)
    .call(
      axisBottom(x)
        .ticks(4)
        .tickSize(4)
        .tickFormat((d) => fmt(Number(d))),
    );

  const what =
    view.group === "all"
      ? `mean of ${view.groups} routing group${view.groups === 1 ? "" : "s"}`
      : `routing group ${view.group}`;
  const parts: Node[] = [
    el("span", "legend-what", `Share of each token's routing mass held by the language's experts (${what}).`),
  ];
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
