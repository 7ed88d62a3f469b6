// The status bar item: model, device, masks, last latency and speed, and a clear state
// while loading, busy, disabled or failed. `renderStatus` is pure; `StatusBar` applies it
// to an item (vscode.StatusBarItem in the extension, a fake in tests).
import { scalesLabel } from "../heatmap-shared/steer";
import type { EngineState } from "./engine-host";

export interface LastCompletion {
  latencyMs: number;
  tokensPerS?: number;
  source: "engine" | "cache" | "in-flight";
}

export interface StatusModel {
  engine: EngineState;
  busy: boolean;
  /** The configured model's folder name (known before the engine starts). */
  modelName: string;
  /** "CPU", a GPU's name, "WebGPU"; undefined before the engine starts. */
  device?: string;
  masked: readonly string[];
  /** Every steered language's scale (masked ones at 0); when given, the status shows it instead of `masked`. */
  scales?: Readonly<Record<string, number>>;
  /** Masked languages the active atlas does not have (so they do nothing). */
  maskIgnored?: readonly string[];
  atlas?: { path: string; source: string };
  last?: LastCompletion;
  /** Why automatic completion is off for the active editor, if it is. */
  disabled?: string;
  cpu?: string;
}

export type StatusSeverity = "normal" | "warning" | "error";

export interface RenderedStatus {
  text: string;
  /** Markdown. */
  tooltip: string;
  severity: StatusSeverity;
}

export function renderStatus(m: StatusModel): RenderedStatus {
  const parts: string[] = [];
  let icon = "$(sparkle)";
  let severity: StatusSeverity = "normal";
  const e = m.engine;
  const steered = m.scales ? steeringText(m.scales, ",") : m.masked.length ? `−${m.masked.join(",")}` : "";
  const masks = steered || undefined;
  switch (e.kind) {
    case "failed":
      icon = "$(error)";
      severity = "error";
      parts.push(`${m.modelName}: failed`);
      break;
    case "loading":
      icon = "$(sync~spin)";
      parts.push(
        e.progress
          ? `converting ${Math.floor((100 * e.progress.done) / Math.max(1, e.progress.total))}%`
          : `loading ${m.modelName}`,
      );
      break;
    case "stopped":
      parts.push(m.modelName);
      break;
    case "unloaded":
      parts.push(m.modelName, "unloaded");
      break;
    case "ready":
      parts.push(m.modelName);
      if (m.device) parts.push(m.device);
      break;
  }
  if (masks) parts.push(masks);
  if (m.disabled && e.kind !== "failed") {
    icon = "$(circle-slash)";
    parts.push("off");
  } else if (m.busy && e.kind === "ready") {
    icon = "$(loading~spin)";
  } else if (m.last && e.kind === "ready") {
    parts.push(`${Math.round(m.last.latencyMs)} ms`);
    if (m.last.tokensPerS) parts.push(`${m.last.tokensPerS.toFixed(0)} tok/s`);
  }
  if (m.maskIgnored?.length && severity === "normal") severity = "warning";

  const lines: string[] = ["**Monet Lens**", ""];
  switch (e.kind) {
    case "failed":
      lines.push(`$(error) ${escapeMarkdown(e.message)}`);
      break;
    case "loading":
      lines.push(
        e.progress
          ? `Converting the model to ONNX: ${escapeMarkdown(e.progress.what)} ` +
              `(${e.progress.done}/${e.progress.total})`
          : "Loading the model…",
      );
      break;
    case "stopped":
      lines.push("The model loads on the first completion.");
      break;
    case "unloaded":
      lines.push("The model was unloaded after being idle; it loads again on the next completion.");
      break;
    case "ready":
      lines.push(
        `Model: \`${escapeMarkdown(e.info.modelDir)}\``,
        "",
        `Execution provider: ${e.info.ep}${m.device ? ` (${escapeMarkdown(m.device)})` : ""}` +
          (e.info.ep === "cpu" && m.cpu ? ` — ${escapeMarkdown(m.cpu)}` : ""),
        "",
        `Weights: ${e.info.dtype}${e.info.dtype.startsWith("int") ? " (quantized; the router stays float32)" : ""}`,
      );
      if (e.info.fallbacks.length)
        lines.push("", `Skipped providers: ${e.info.fallbacks.map(escapeMarkdown).join("; ")}`);
      break;
  }
  lines.push("", `Masked languages: ${m.masked.length ? m.masked.join(", ") : "none"}`);
  const scaled = Object.entries(m.scales ?? {}).filter(([, s]) => s !== 0);
  if (scaled.length)
    lines.push("", `Steered languages (experts' scale): ${scaled.map(([l, s]) => `${l} ×${s}`).join(", ")}`);
  if (m.maskIgnored?.length)
    lines.push("", `$(warning) Not in the active atlas (no effect): ${m.maskIgnored.join(", ")}`);
  const loaded = e.kind === "ready" || e.kind === "unloaded";
  lines.push(
    "",
    m.atlas
      ? `Atlas: \`${escapeMarkdown(m.atlas.path)}\` (${m.atlas.source})`
      : loaded
        ? "Atlas: none for this model (Build Language Atlas from Workspace)"
        : "Atlas: looked up when the model loads",
  );
  if (m.last)
    lines.push(
      "",
      `Last suggestion: ${Math.round(m.last.latencyMs)} ms from the request` +
        `${m.last.tokensPerS ? `, ${m.last.tokensPerS.toFixed(1)} tokens/s` : ""} (${SOURCES[m.last.source]})`,
    );
  if (m.disabled) lines.push("", `$(circle-slash) ${escapeMarkdown(m.disabled)}`);
  lines.push("", "_Click for Monet Lens commands._");
  return { text: `${icon} ${parts.join(" · ")}`, tooltip: lines.join("\n"), severity };
}

/** "−python, rust×1.5": masked languages with a minus, scaled ones with their scale. */
export const steeringText = scalesLabel;

const SOURCES: Record<LastCompletion["source"], string> = {
  engine: "generated",
  cache: "from the suggestion cache",
  "in-flight": "from the generation in flight",
};

function escapeMarkdown(s: string): string {
  return s.replace(/[\\`*_{}[\]<>|]/g, (c) => `\\${c}`);
}

/** The part of vscode.StatusBarItem used here; `severity` is mapped to a background colour by the caller. */
export interface StatusItemLike {
  text: string;
  tooltip: unknown;
  command: unknown;
  show(): void;
  dispose(): void;
}

export class StatusBar {
  private model: StatusModel;
  private lastRendered: RenderedStatus | undefined;

  constructor(
    private readonly item: StatusItemLike,
    private readonly apply: (item: StatusItemLike, rendered: RenderedStatus) => void,
    initial: StatusModel,
  ) {
    this.model = initial;
    this.render();
    item.show();
  }

  get current(): RenderedStatus {
    return this.lastRendered!;
  }

  update(patch: Partial<StatusModel>): void {
    this.model = { ...this.model, ...patch };
    this.render();
  }

  private render(): void {
    const r = renderStatus(this.model);
    if (
      this.lastRendered &&
      r.text === this.lastRendered.text &&
      r.tooltip === this.lastRendered.tooltip &&
      r.severity === this.lastRendered.severity
    )
      return;
    this.lastRendered = r;
    this.apply(this.item, r);
  }

  dispose(): void {
    this.item.dispose();
  }
}
