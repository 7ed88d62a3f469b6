// The routing view's page: wires the toolkit controls, the heatmap and the A/B tab to the
// extension's messages (src/heatmap-shared/messages.ts). Bundled by esbuild into media/heatmap.js.
import { className } from "../src/heatmap-shared/class-names";
import {
  STATUS_ACTIONS,
  type SourceInfo,
  type StatusAction,
  type StatusButton,
  type Tab,
  type ToWebview,
  type ViewState,
} from "../src/heatmap-shared/messages";
import type { RouteData } from "../src/heatmap-shared/route-data";
import type { GroupChoice, Metric } from "../src/heatmap-shared/view-model";
import { AbSides } from "./ab-sides";
import { AbView } from "./ab-view";
import { loadState, post, saveState } from "./api";
import { byId } from "./dom";
import { svgToPng, viewSvg } from "./export-view";
import { CARD_MESSAGES, type CardMessage, ExpertCards } from "./expert-card";
import { HeatmapGrid } from "./heatmap-grid";
import { showStatus } from "./status";
import { SteerSliders } from "./steer-sliders";
import { Tooltip } from "./tooltip";
import { registerToolkit, type CheckedElement, type PanelsElement, type ValueElement } from "./toolkit";

registerToolkit();

const state = loadState();
const tooltip = new Tooltip(byId("tooltip"));
const tabs = byId<PanelsElement>("tabs");
const groupSelect = byId<ValueElement>("hm-group");
const metricSelect = byId<ValueElement>("hm-metric");
const follow = byId<CheckedElement>("hm-follow");
const hmStatus = byId("hm-status");
const hmAtlas = byId("hm-atlas");
const hmEmpty = byId("hm-empty");
const hmSource = byId("hm-source");
const legendRow = byId("hm-legend-row");
const abStatus = byId("ab-status");

let routeSeq = -1;
let route: RouteData | null = null;
let pinned = follow.checked;
let groups = 0;

const grid = new HeatmapGrid(
  {
    grid: byId("hm-grid"),
    head: byId("hm-head"),
    summary: byId("hm-summary"),
    body: byId("hm-body"),
    legend: document.querySelector<SVGSVGElement>("svg#hm-legend")!,
    legendNotes: byId("hm-legend-notes"),
  },
  tooltip,
  {
    rowClick: (row) => {
      if (route) post({ type: "selectTokens", seq: routeSeq, from: row.from, to: row.to });
      cards.showTokenExperts(route, row);
      fitHeight();
    },
    headerClick: (language) => post({ type: "toggleMask", language }),
  },
);
grid.setGroup(state.group);
grid.setMetric(state.metric);
metricSelect.value = state.metric;

const cards = new ExpertCards(
  {
    strip: byId("hm-token-experts"),
    source: byId("ex-source"),
    status: byId("ex-status"),
    form: byId<HTMLFormElement>("ex-search"),
    query: byId<HTMLInputElement>("ex-query"),
    body: byId("ex-body"),
  },
  post,
  () => {
    // Setting the toolkit's activeid programmatically fires no change event: say it here.
    setTab("expert");
    if (state.tab === "expert") return;
    state.tab = "expert";
    saveState(state);
    post({ type: "setTab", tab: "expert" });
  },
);
byId("ex-find").addEventListener("click", () => byId<HTMLFormElement>("ex-search").requestSubmit());

const ab = new AbView({
  source: byId("ab-source"),
  summary: byId("ab-summary"),
  columns: byId("ab-columns"),
  plain: byId("ab-plain"),
  masked: byId("ab-masked"),
});
ab.clear();

const sliders = new SteerSliders(byId("hm-steer"), (language, scale) =>
  post({ type: "setScale", language, scale }),
);
const abSides = new AbSides(
  byId<HTMLSelectElement>("ab-side-a"),
  byId<HTMLSelectElement>("ab-side-b"),
  byId("ab-save"),
  post,
);

// ---- controls ----

function setGroupOptions(count: number): void {
  if (count === groups) return;
  groups = count;
  const option = (value: string, label: string) => {
    const o = document.createElement("vscode-option");
    o.setAttribute("value", value);
    o.textContent = label;
    return o;
  };
  const options = [option("all", "All groups (mean)")];
  for (let g = 0; g < count; g++) options.push(option(String(g), `Group ${g}`));
  groupSelect.replaceChildren(...options);
  if (state.group !== "all" && state.group >= count) {
    state.group = "all";
    grid.setGroup("all");
  }
  groupSelect.value = String(state.group);
}

groupSelect.addEventListener("change", () => {
  const v = groupSelect.value;
  const group: GroupChoice = v === "all" ? "all" : Number(v);
  if (
    group === state.group ||
    (group !== "all" && !(Number.isInteger(group) && group >= 0 && group < groups))
  )
    return;
  state.group = group;
  saveState(state);
  grid.setGroup(group);
});

metricSelect.addEventListener("change", () => {
  const metric: Metric = metricSelect.value === "share" ? "share" : "lift";
  if (metric === state.metric) return;
  state.metric = metric;
  saveState(state);
  grid.setMetric(metric);
});

// Status banners' buttons (status.ts): each names an action the extension carries out.
for (const banner of [hmStatus, hmAtlas, abStatus]) {
  banner.addEventListener("click", (ev) => {
    const b = (ev.target as Element | null)?.closest<HTMLElement>("[data-action]");
    const action = b?.dataset.action;
    if (action && (STATUS_ACTIONS as readonly string[]).includes(action))
      post({ type: "action", action: action as StatusAction });
  });
}

// Export: the data from the extension (JSON, CSV), the picture from here (SVG, PNG).
let exporting = false;
for (const b of document.querySelectorAll<HTMLElement>(".export-btn")) {
  b.addEventListener("click", () => {
    const format = b.dataset.export;
    if (format === "json" || format === "csv") {
      post({ type: "exportData", format });
      return;
    }
    const view = grid.currentView;
    if ((format !== "svg" && format !== "png") || !view || exporting) {
      if (!view) notice("There is nothing to export yet.");
      return;
    }
    exporting = true;
    const { svg, width, height } = viewSvg(view, hmSource.textContent ?? "", grid.exportStyle());
    (format === "svg" ? Promise.resolve(svg) : svgToPng(svg, width, height))
      .then((data) => post({ type: "exportImage", format, data }))
      .catch((e: unknown) => notice(`Could not draw the ${format.toUpperCase()}: ${(e as Error).message}`))
      .finally(() => {
        exporting = false;
      });
  });
}

follow.addEventListener("change", () => {
  if (follow.checked === pinned) return;
  pinned = follow.checked;
  post({ type: "setPinned", pinned });
});

byId("hm-refresh").addEventListener("click", () => post({ type: "refresh" }));
byId("ab-run").addEventListener("click", () => post({ type: "runCompare" }));

function setTab(tab: Tab): void {
  if (tabs.activeid !== `tab-${tab}`) tabs.activeid = `tab-${tab}`;
}

tabs.addEventListener("change", () => {
  const tab: Tab = tabs.activeid === "tab-ab" ? "ab" : tabs.activeid === "tab-expert" ? "expert" : "heatmap";
  tooltip.hide();
  requestAnimationFrame(() => {
    fitHeight();
    grid.layout();
    grid.render();
  });
  if (tab === state.tab) return;
  state.tab = tab;
  saveState(state);
  post({ type: "setTab", tab });
});

// ---- messages from the extension ----

let noticeTimer = 0;
function notice(message: string): void {
  const n = byId("notice");
  n.textContent = message;
  n.hidden = false;
  clearTimeout(noticeTimer);
  noticeTimer = window.setTimeout(() => (n.hidden = true), 6000);
}

function sourceLine(s: SourceInfo, data: RouteData): string {
  const lines = s.startLine === s.endLine ? `line ${s.startLine}` : `lines ${s.startLine}–${s.endLine}`;
  const what =
    s.kind === "function"
      ? `function ${s.name ?? ""}`.trim()
      : s.kind === "block"
        ? "block around the cursor"
        : "selection";
  const atlas = data.atlas
    ? data.atlas.slice(Math.max(data.atlas.lastIndexOf("/"), data.atlas.lastIndexOf("\\")) + 1)
    : "no atlas";
  const masked = data.masked.length ? ` · masked: ${data.masked.map(className).join(", ")}` : "";
  const n = (x: number) => x.toLocaleString("en");
  const count = s.part
    ? `${s.part.which === "start" ? "first" : "around the cursor:"} ${n(data.tokens.length)} of ${n(s.part.of)} tokens`
    : `${n(data.tokens.length)} tokens`;
  return `${s.file} · ${lines} · ${what} · ${count} · ${atlas}${masked}`;
}

function heatmapState(s: ViewState, message: string, actions?: StatusButton[]): void {
  showStatus(hmStatus, s, message, undefined, actions);
  grid.setStale(s === "computing" && route !== null);
  // The last view stays for "nothing new to inspect" and for a selection too long to route:
  // the user keeps their place until there is something new to show.
  if (s === "noModel") {
    route = null;
    grid.setData(null);
    cards.showTokenExperts(null, null);
    hmSource.textContent = "";
    hmAtlas.hidden = true;
  }
  legendRow.hidden = route === null || route.languages.length === 0;
  hmEmpty.hidden = route !== null || s !== "idle";
  fitHeight();
}

function showRoute(seq: number, data: RouteData, source: SourceInfo): void {
  routeSeq = seq;
  route = data;
  cards.showTokenExperts(null, null);
  setGroupOptions(data.groups);
  grid.setData(data);
  hmSource.textContent = sourceLine(source, data);
  hmSource.title =
    `${sourceLine(source, data)}\nmodel: ` + `${data.model}${data.atlas ? `\natlas: ${data.atlas}` : ""}`;
  hmEmpty.hidden = true;
  legendRow.hidden = data.languages.length === 0;
  if (data.languages.length === 0)
    showStatus(
      hmAtlas,
      "noModel",
      "This model has no language atlas, so there are no language columns: each token shows its " +
        "strongest expert. Build one from this workspace's code, or select one.",
      "No language atlas",
      [
        { action: "buildAtlas", label: "Build Language Atlas from Workspace" },
        { action: "selectAtlas", label: "Select Atlas…" },
      ],
    );
  else showStatus(hmAtlas, "idle", "");
  fitHeight();
}

/** The heatmap scrolls inside the panel: its height is what is left below the toolbar and banners. */
function fitHeight(): void {
  const g = byId("hm-grid");
  if (g.hidden || g.offsetParent === null) return; // not drawn (no data, or the other tab)
  const h = `${Math.max(120, Math.floor(window.innerHeight - g.getBoundingClientRect().top - 14))}px`;
  if (g.style.height !== h) g.style.height = h;
}

const TYPES = new Set([
  "init",
  "masks",
  "status",
  "route",
  "compare",
  "notice",
  "compareSides",
  ...CARD_MESSAGES,
]);

function handle(m: unknown): void {
  if (typeof m !== "object" || m === null || !TYPES.has(String((m as { type?: unknown }).type))) return;
  if (CARD_MESSAGES.has(String((m as { type: unknown }).type))) {
    cards.handle(m as CardMessage);
    return;
  }
  const msg = m as ToWebview;
  switch (msg.type) {
    case "init":
      pinned = msg.pinned;
      follow.checked = msg.pinned;
      state.tab = msg.tab;
      setTab(msg.tab);
      return;
    case "masks":
      grid.setMasks(msg.masked);
      sliders.update(msg.atlasLanguages, msg.scales ?? Object.fromEntries(msg.masked.map((l) => [l, 0])));
      fitHeight();
      return;
    case "compareSides":
      abSides.update(msg);
      return;
    case "status":
      if (msg.view === "heatmap") heatmapState(msg.state, msg.message, msg.actions);
      else if (msg.view === "expert") cards.status(msg.state, msg.message);
      else {
        showStatus(abStatus, msg.state, msg.message, undefined, msg.actions);
        byId("ab-columns").classList.toggle("stale", msg.state === "computing");
        if (msg.state === "noMasks" || msg.state === "noSelection" || msg.state === "noModel") ab.clear();
      }
      return;
    case "route":
      showRoute(msg.seq, msg.data, msg.source);
      return;
    case "compare":
      ab.show(msg);
      return;
    case "notice":
      notice(msg.message);
      return;
    default:
      return;
  }
}

window.addEventListener("message", (ev: MessageEvent<unknown>) => handle(ev.data));

// ---- theme and size ----

let themeFrame = 0;
const onTheme = () => {
  if (themeFrame) return;
  themeFrame = requestAnimationFrame(() => {
    themeFrame = 0;
    grid.themeChanged();
  });
};
new MutationObserver(onTheme).observe(document.body, {
  attributes: true,
  attributeFilter: ["class", "data-vscode-theme-kind"],
});
new MutationObserver(onTheme).observe(document.documentElement, {
  attributes: true,
  attributeFilter: ["style", "class"],
});
new ResizeObserver(() => grid.layout()).observe(byId("hm-grid"));
new ResizeObserver(() => fitHeight()).observe(document.body);
window.addEventListener("resize", () => fitHeight());
window.addEventListener("blur", () => tooltip.hide());

setTab(state.tab);
hmEmpty.textContent = "Waiting for the editor's selection…";
hmEmpty.hidden = false;
post({ type: "ready" });
