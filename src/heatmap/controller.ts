// The routing view's behaviour on the extension side, apart from VS Code's API (which the
// panel provides as a ControllerHost): validates the webview's messages and acts on them,
// routes the editor's selection (or function) and computes the A/B comparison, one run at
// a time per view (a newer one cancels the older; stale results are dropped), follows the
// selection when pinned (debounced), recomputes when the masks change, and maps a clicked
// row back to an editor range.
import type { HeatmapDeps } from "./deps";
import { routeCsv, routeJsonText } from "../heatmap-shared/export-data";
import {
  parseWebviewMessage,
  type FromWebview,
  type SourceInfo,
  type StatusAction,
  type StatusButton,
  type Tab,
  type ToWebview,
  type ViewState,
} from "../heatmap-shared/messages";
import type { Continuation, RouteData } from "../heatmap-shared/route-data";
import type { ContextSource } from "../heatmap-shared/expert-card-data";
import { EXPERT_MESSAGES, ExpertCards, type ExpertMessage } from "./expert-cards";
import { type CompareSide, type LanguageScales, sameScales, scalesLabel } from "../heatmap-shared/steer";
import { tokenOffsets } from "./span-range";

export interface EditorTarget {
  uri: string;
  version: number;
  /** document.getText(range): the document's own line endings. */
  text: string;
  /** document.offsetAt(range.start). */
  base: number;
  source: SourceInfo;
  /** The cursor (the selection's active end) as an offset into `text`, when it is inside it. */
  cursor?: number;
}

export interface CursorContext {
  uri: string;
  version: number;
  /** The text before the cursor that the continuation follows. */
  prompt: string;
  source: SourceInfo;
}

export type Found<T> = { ok: true; value: T } | { ok: false; reason: string };

/** A selection in an editor, as document offsets. */
export interface SelectionEvent {
  uri: string;
  start: number;
  end: number;
  /** The cursor moved because the user is typing (the document was just edited). */
  editing?: boolean;
}

export interface ControllerHost {
  post(message: ToWebview): void;
  /** The selection of the active (or last active) editor, else the function around its cursor. */
  findTarget(): Promise<Found<EditorTarget>>;
  /** The text before the cursor of the active (or last active) editor. */
  cursorContext(): Found<CursorContext>;
  /** Selects [start, end) in the document if it is still at `version`. */
  select(uri: string, version: number, start: number, end: number): Promise<"ok" | "changed" | "closed">;
  /** Whether the panel is visible (hidden panels recompute when shown). */
  visible(): boolean;
  /**
   * Asks where to save an export (a save dialog offering `suggestedName`) and writes `data`
   * there atomically; the path written, or undefined when the user cancelled.
   */
  saveFile?(suggestedName: string, data: string | Uint8Array): Promise<string | undefined>;
  /** Runs the command a status banner's button stands for (Select Model Folder…, …). */
  runCommand?(action: Exclude<StatusAction, "refresh" | "routeStart" | "routeCursor">): Promise<void>;
  /** Expert cards' on-demand contexts: the open file's path, or the workspace's folders. */
  expertSources?(from: ContextSource): Found<string[]>;
}

export interface ControllerOptions {
  pinned: boolean;
  /** Quiet time after a selection change before following it (default 400 ms). */
  debounceMs?: number;
  /** The same while typing (default 1500 ms): the engine also serves inline completions. */
  typingDebounceMs?: number;
  onPinnedChange?(pinned: boolean): void;
  setTimer?(f: () => void, ms: number): unknown;
  clearTimer?(handle: unknown): void;
}

/**
 * Selections longer than this are not even tokenised (the model reads a few thousand tokens
 * at most); shorter ones longer than the model reads are offered in part (routePart).
 */
export const MAX_ROUTE_CHARS = 2_000_000;
/** Characters of prompt before the cursor given to the A/B comparison. */
export const MAX_PROMPT_CHARS = 4_000;

/** How an error from route/compare shows: no model (code NO_MODEL), or its message. */
export function classifyError(e: unknown): { state: ViewState; message: string } {
  const code = typeof e === "object" && e !== null ? (e as { code?: unknown }).code : undefined;
  const message = (e instanceof Error ? e.message : String(e)).slice(0, 600);
  if (code === "NO_MODEL") return { state: "noModel", message: message || "No model is available." };
  return { state: "error", message };
}

/** The buttons that fix a state: choose a model; choose or build an atlas; the log for errors. */
export function actionsFor(state: ViewState): StatusButton[] | undefined {
  if (state === "noModel")
    return [
      { action: "selectModelFolder", label: "Select Model Folder…" },
      { action: "showLog", label: "Show Log" },
    ];
  if (state === "error")
    return [
      { action: "refresh", label: "Try Again" },
      { action: "showLog", label: "Show Log" },
    ];
  return undefined;
}

/**
 * The part of a text (token spans `spans`) that fits in `cap` tokens: the first ones, or a
 * window centred on `cursor` (a character offset); as token indices [from, to).
 */
export function tokenWindow(
  spans: ReadonlyArray<readonly [number, number]>,
  cap: number,
  which: "start" | "cursor",
  cursor = 0,
): { from: number; to: number } {
  const n = spans.length;
  if (n <= cap || which === "start") return { from: 0, to: Math.min(n, cap) };
  let k = spans.findIndex((s) => s[1] > cursor);
  if (k < 0) k = n - 1;
  const from = Math.max(0, Math.min(n - cap, k - Math.floor(cap / 2)));
  return { from, to: from + cap };
}

function countLines(text: string, from: number, to: number): number {
  let n = 0;
  for (let i = text.indexOf("\n", from); i >= 0 && i < to; i = text.indexOf("\n", i + 1)) n++;
  return n;
}

/** File names for exports: "words.py-routing.svg". */
export function exportName(source: SourceInfo | undefined, ext: string): string {
  const stem = (source?.file ?? "selection").replace(/[^\w.+-]+/g, "_").slice(0, 80) || "selection";
  return `${stem}-routing.${ext}`;
}

/** The last `max` characters before the cursor, starting at a line start when one is near. */
export function promptBefore(textBefore: string, max = MAX_PROMPT_CHARS): string {
  if (textBefore.length <= max) return textBefore;
  const cut = textBefore.length - max;
  const nl = textBefore.indexOf("\n", cut);
  return nl >= 0 && nl < textBefore.length - 1 ? textBefore.slice(nl + 1) : textBefore.slice(cut);
}

function describeSource(s: SourceInfo): string {
  const lines = s.startLine === s.endLine ? `line ${s.startLine}` : `lines ${s.startLine}–${s.endLine}`;
  const what =
    s.kind === "selection"
      ? "the selection"
      : s.kind === "function"
        ? `function ${s.name ?? ""}`.trim()
        : "the block";
  return `${what} (${s.file}, ${lines})`;
}

function capitalised(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

interface Shown {
  status?: { state: ViewState; message: string; actions?: StatusButton[] };
}

export class HeatmapController {
  private pinned: boolean;
  private tab: Tab = "heatmap";
  private seq = 0;
  private routeGen = 0;
  private compareGen = 0;
  private route: { seq: number; target: EditorTarget; data: RouteData; key: string } | undefined;
  private compare: { message: Extract<ToWebview, { type: "compare" }>; key: string } | undefined;
  private routeRun: AbortController | undefined;
  private compareRun: AbortController | undefined;
  private readonly shown: Record<Tab, Shown> = { heatmap: {}, ab: {}, expert: {} };
  private readonly cards: ExpertCards;
  private timer: unknown;
  /** Hidden while the selection (pinned) or the masks changed: recompute when shown. */
  private dirty = { selection: false, masks: false };
  private expected: SelectionEvent | undefined;
  /** A selection longer than the model reads, waiting for the user to choose a part. */
  private long:
    | { target: EditorTarget; spans: Array<[number, number]>; cap: number; key: string }
    | undefined;
  private disposed = false;
  /** What the A/B view's sides run under, and the steering kept for the "saved" side. */
  private sides: { a: CompareSide; b: CompareSide } = { a: "none", b: "current" };
  private saved: LanguageScales | undefined;
  private readonly debounceMs: number;
  private readonly typingDebounceMs: number;
  private readonly setTimer: (f: () => void, ms: number) => unknown;
  private readonly clearTimer: (h: unknown) => void;

  constructor(
    private readonly host: ControllerHost,
    private readonly deps: HeatmapDeps,
    private readonly opts: ControllerOptions,
  ) {
    this.pinned = opts.pinned;
    this.debounceMs = opts.debounceMs ?? 400;
    this.typingDebounceMs = opts.typingDebounceMs ?? 1500;
    this.setTimer = opts.setTimer ?? ((f, ms) => setTimeout(f, ms));
    this.clearTimer = opts.clearTimer ?? ((h) => clearTimeout(h as ReturnType<typeof setTimeout>));
    this.cards = new ExpertCards(
      {
        post: (m) => host.post(m),
        status: (state, message) => this.status("expert", state, message),
        cursor: () => {
          const found = host.cursorContext();
          return found.ok
            ? { ok: true, value: { prompt: promptBefore(found.value.prompt), source: found.value.source } }
            : found;
        },
        sources: (from) =>
          host.expertSources?.(from) ?? { ok: false, reason: "There are no files to read here." },
        log: (line) => deps.log(line),
      },
      deps.experts,
    );
  }

  get isPinned(): boolean {
    return this.pinned;
  }

  /** A message from the webview: validated, then acted on. */
  async receive(raw: unknown): Promise<void> {
    if (this.disposed) return;
    const parsed = parseWebviewMessage(raw);
    if (!parsed.ok) {
      this.deps.log(`heatmap: dropped an invalid message from the webview: ${parsed.error}`);
      return;
    }
    await this.act(parsed.message);
  }

  private async act(m: FromWebview): Promise<void> {
    if (EXPERT_MESSAGES.has(m.type)) return this.cards.handle(m as ExpertMessage);
    switch (m.type) {
      case "ready":
        return this.ready();
      case "refresh":
        return this.computeRoute(true);
      case "setPinned":
        this.pinned = m.pinned;
        this.opts.onPinnedChange?.(m.pinned);
        if (m.pinned)
          await Promise.all([
            this.computeRoute(false),
            this.tab === "ab" ? this.computeCompare(false) : undefined,
          ]);
        return;
      case "toggleMask":
        return this.toggleMask(m.language);
      case "selectTokens":
        return this.selectTokens(m.seq, m.from, m.to);
      case "setTab":
        this.tab = m.tab;
        if (m.tab === "ab") await this.computeCompare(false);
        return;
      case "runCompare":
        return this.computeCompare(true);
      case "setScale":
        return this.setScale(m.language, m.scale);
      case "setCompareSides":
        this.sides = { a: m.a, b: m.b };
        this.postSides();
        if (this.tab === "ab") await this.computeCompare(false);
        return;
      case "saveSteering":
        this.saved = { ...this.deps.masks.scales() };
        this.postSides();
        if (this.tab === "ab" && (this.sides.a === "saved" || this.sides.b === "saved"))
          await this.computeCompare(false);
        return;
      case "action":
        return this.action(m.action);
      case "exportImage":
        return this.save(m.format, m.format === "png" ? Buffer.from(m.data, "base64") : m.data);
      case "exportData":
        if (!this.route) {
          this.host.post({ type: "notice", message: "There is no routing data to export yet." });
          return;
        }
        return this.save(
          m.format,
          m.format === "csv" ? routeCsv(this.route.data) : routeJsonText(this.route.data),
        );
      default:
        return;
    }
  }

  private postSides(): void {
    this.host.post({
      type: "compareSides",
      a: this.sides.a,
      b: this.sides.b,
      saved: this.saved ? { ...this.saved } : null,
    });
  }

  /** The scales a side of the A/B view runs under now. */
  private sideScales(side: CompareSide): LanguageScales {
    if (side === "current") return this.deps.masks.scales();
    if (side === "saved") return this.saved ?? {};
    return {};
  }

  private async action(a: StatusAction): Promise<void> {
    if (a === "refresh") return this.computeRoute(true);
    if (a === "routeStart" || a === "routeCursor")
      return this.routePart(a === "routeStart" ? "start" : "cursor");
    if (!this.host.runCommand) {
      this.deps.log(`heatmap: no command for the action ${a}`);
      return;
    }
    try {
      await this.host.runCommand(a);
    } catch (e) {
      this.deps.log(`heatmap: ${a} failed: ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  private async save(ext: string, data: string | Uint8Array): Promise<void> {
    if (!this.host.saveFile) return;
    const name = exportName(this.route?.target.source, ext);
    try {
      const path = await this.host.saveFile(name, data);
      if (path) this.host.post({ type: "notice", message: `Saved ${path}` });
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      this.deps.log(`heatmap: export failed: ${message}`);
      this.host.post({ type: "notice", message: `Could not save the export: ${message}` });
    }
  }

  /** Routes the chosen part of the selection that was too long. */
  private async routePart(which: "start" | "cursor"): Promise<void> {
    const l = this.long;
    if (!l) {
      this.deps.log("heatmap: dropped a part choice: no selection is waiting for one");
      return;
    }
    const t = l.target;
    const { from, to } = tokenWindow(l.spans, l.cap, which, t.cursor);
    const a = l.spans[from]![0];
    const b = l.spans[to - 1]![1];
    const startLine = t.source.startLine + countLines(t.text, 0, a);
    const endLine = startLine + countLines(t.text, a, Math.max(a, b - 1));
    const target: EditorTarget = {
      ...t,
      text: t.text.slice(a, b),
      base: t.base + a,
      source: { ...t.source, startLine, endLine, part: { which, tokens: to - from, of: l.spans.length } },
      ...(t.cursor !== undefined ? { cursor: Math.max(0, t.cursor - a) } : {}),
    };
    await this.routeTarget(target, l.key);
  }

  /** (Re)sends everything the page shows: it has just loaded, or reloaded after being hidden. */
  private async ready(): Promise<void> {
    this.host.post({ type: "init", pinned: this.pinned, tab: this.tab });
    this.postMasks();
    this.postSides();
    if (this.route)
      this.host.post({
        type: "route",
        seq: this.route.seq,
        data: this.route.data,
        source: this.route.target.source,
      });
    if (this.compare) this.host.post(this.compare.message);
    this.cards.ready();
    for (const view of ["heatmap", "ab", "expert"] as const) {
      const s = this.shown[view].status;
      if (s) this.host.post({ type: "status", view, ...s });
    }
    await this.catchUp(!this.route);
  }

  /** Recomputes what changed while the panel was hidden (or everything, when `all`). */
  private async catchUp(all: boolean): Promise<void> {
    const d = this.dirty;
    this.dirty = { selection: false, masks: false };
    const work: Array<Promise<void>> = [];
    if (all || (d.selection && this.pinned)) work.push(this.computeRoute(false, "editor"));
    else if (d.masks) work.push(this.computeRoute(false, "shown"));
    if (this.tab === "ab" && (all || !this.compare || d.selection || d.masks))
      work.push(this.computeCompare(false));
    await Promise.all(work);
  }

  private postMasks(): void {
    const atlas = this.deps.atlasLanguages();
    this.host.post({
      type: "masks",
      masked: [...this.deps.masks.current()],
      atlasLanguages: atlas ? atlas.map((l) => l.id) : null,
      scales: { ...this.deps.masks.scales() },
    });
  }

  private status(view: Tab, state: ViewState, message: string, actions = actionsFor(state)): void {
    const s = actions ? { state, message, actions } : { state, message };
    this.shown[view].status = s;
    this.host.post({ type: "status", view, ...s });
  }

  /**
   * Routes the editor's selection (or function), or again the code already shown (after a
   * mask change); skipped when that is what is shown, unless forced.
   */
  async computeRoute(force: boolean, from: "editor" | "shown" = "editor"): Promise<void> {
    if (this.disposed) return;
    const gen = ++this.routeGen;
    let target: EditorTarget;
    if (from === "shown" && this.route) target = this.route.target;
    else {
      const found = await this.host.findTarget();
      if (gen !== this.routeGen || this.disposed) return;
      if (!found.ok) {
        // Never lose the user's place: a view stays until there is something new to show.
        if (this.route && !force) return;
        this.routeRun?.abort();
        this.status("heatmap", "noSelection", found.reason);
        return;
      }
      target = found.value;
    }
    if (target.text.length > MAX_ROUTE_CHARS) {
      this.status(
        "heatmap",
        "error",
        `The selection has ${target.text.length.toLocaleString("en")} characters; the routing ` +
          `view takes at most ${MAX_ROUTE_CHARS.toLocaleString("en")}. Select less.`,
      );
      return;
    }
    if (target.text.trim() === "") {
      if (this.route && !force) return;
      this.status("heatmap", "noSelection", "The selection is blank: select some code.");
      return;
    }
    const scales = { ...this.deps.masks.scales() };
    const key = JSON.stringify([target.uri, target.version, target.base, target.text.length, scales]);
    if (!force && this.route?.key === key && !this.routeRun) return;
    if (from === "editor" && this.deps.measure) {
      let m: { spans: Array<[number, number]>; limit: number };
      try {
        m = await this.deps.measure(target.text);
      } catch (e) {
        if (gen !== this.routeGen || this.disposed) return;
        const c = classifyError(e);
        this.status("heatmap", c.state, c.message);
        return;
      }
      if (gen !== this.routeGen || this.disposed) return;
      const cap = m.limit - 1; // the model reads BOS first
      if (m.spans.length > cap) {
        this.routeRun?.abort();
        this.long = { target, spans: m.spans, cap, key };
        const n = (x: number) => x.toLocaleString("en");
        this.status(
          "heatmap",
          "tooLong",
          `${capitalised(describeSource(target.source))} has ${n(m.spans.length)} tokens; the model reads ` +
            `${n(cap)} at once. Route the first ${n(cap)} tokens, or the ${n(cap)} around the cursor.`,
          [
            { action: "routeStart", label: `First ${n(cap)} Tokens` },
            { action: "routeCursor", label: "Around the Cursor" },
          ],
        );
        return;
      }
    }
    await this.routeTarget(target, key);
  }

  private async routeTarget(target: EditorTarget, key: string): Promise<void> {
    const scales = { ...this.deps.masks.scales() };
    this.routeRun?.abort();
    const run = new AbortController();
    this.routeRun = run;
    const seq = ++this.seq;
    this.status("heatmap", "computing", `Routing ${describeSource(target.source)}…`);
    try {
      const data = await this.deps.route(target.text, scales, run.signal);
      if (run !== this.routeRun || run.signal.aborted || this.disposed) return;
      this.route = { seq, target, data, key };
      this.host.post({ type: "route", seq, data, source: target.source });
      this.status("heatmap", "idle", "");
    } catch (e) {
      if (run !== this.routeRun || run.signal.aborted || this.disposed) return;
      const c = classifyError(e);
      this.deps.log(`heatmap: routing failed: ${c.message}`);
      this.status("heatmap", c.state, c.message);
    } finally {
      if (this.routeRun === run) this.routeRun = undefined;
    }
  }

  /** The A/B comparison at the cursor; skipped when it is what is shown, unless forced. */
  async computeCompare(force: boolean): Promise<void> {
    if (this.disposed) return;
    const gen = ++this.compareGen;
    const masked = [...this.deps.masks.current()];
    const a = { ...this.sideScales(this.sides.a) };
    const b = { ...this.sideScales(this.sides.b) };
    if (sameScales(a, b)) {
      this.compareRun?.abort();
      const nothing = Object.keys(a).length === 0;
      this.status(
        "ab",
        "noMasks",
        nothing && this.sides.a !== "saved" && this.sides.b !== "saved"
          ? "No language is masked or steered, so both continuations would be the same. Mask a " +
              "language (click its column header in the heatmap, or use the status bar) or move a " +
              "language's slider to see what it changes."
          : `Both sides run under the same setting (${scalesLabel(a) || "none"}), so both ` +
              "continuations would be the same. Change the steering, or choose other sides.",
      );
      return;
    }
    const found = this.host.cursorContext();
    if (!found.ok) {
      this.status("ab", "noSelection", found.reason);
      return;
    }
    const ctx = found.value;
    const prompt = promptBefore(ctx.prompt);
    if (prompt.trim() === "") {
      this.status("ab", "noSelection", "There is no code before the cursor to continue.");
      return;
    }
    const key = JSON.stringify([ctx.uri, ctx.version, ctx.source.startLine, ctx.prompt.length, a, b]);
    if (!force && this.compare?.key === key && !this.compareRun) return;
    this.compareRun?.abort();
    const run = new AbortController();
    this.compareRun = run;
    const seq = ++this.seq;
    this.status(
      "ab",
      "computing",
      `Generating both continuations at line ${ctx.source.startLine} of ${ctx.source.file}…`,
    );
    try {
      const r = await this.deps.compare(prompt, { a, b }, run.signal);
      if (gen !== this.compareGen || run !== this.compareRun || run.signal.aborted || this.disposed) return;
      const tail = prompt.slice(Math.max(0, prompt.lastIndexOf("\n", prompt.length - 2) + 1));
      const message: Extract<ToWebview, { type: "compare" }> = {
        type: "compare",
        seq,
        source: ctx.source,
        masked,
        promptTail: tail.slice(-400),
        plain: copy(r.plain),
        maskedResult: copy(r.masked),
        sides: {
          a: { side: this.sides.a, scales: a, label: scalesLabel(a) || "none" },
          b: { side: this.sides.b, scales: b, label: scalesLabel(b) || "none" },
        },
      };
      this.compare = { message, key };
      this.host.post(message);
      this.status("ab", "idle", "");
    } catch (e) {
      if (run !== this.compareRun || run.signal.aborted || this.disposed) return;
      const c = classifyError(e);
      this.deps.log(`heatmap: A/B comparison failed: ${c.message}`);
      this.status("ab", c.state, c.message);
    } finally {
      if (this.compareRun === run) this.compareRun = undefined;
    }
  }

  private async toggleMask(language: string): Promise<void> {
    const atlas = this.deps.atlasLanguages();
    if (!atlas?.some((l) => l.id === language)) {
      this.deps.log(
        `heatmap: dropped toggleMask for ${JSON.stringify(language)}: not a language of the active atlas`,
      );
      this.host.post({
        type: "notice",
        message: atlas
          ? `The atlas has no language "${language}".`
          : "There is no atlas for this model, so there is nothing to mask.",
      });
      this.postMasks();
      return;
    }
    try {
      await this.deps.masks.toggle(language);
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      this.deps.log(`heatmap: could not toggle the mask of ${language}: ${message}`);
      this.host.post({ type: "notice", message: `Could not toggle the mask of ${language}: ${message}` });
      this.postMasks();
    }
  }

  /** A slider moved: the language must be the active atlas's; the store checks the scale again. */
  private async setScale(language: string, scale: number): Promise<void> {
    const atlas = this.deps.atlasLanguages();
    if (!atlas?.some((l) => l.id === language)) {
      this.deps.log(
        `heatmap: dropped setScale for ${JSON.stringify(language)}: not a language of the active atlas`,
      );
      this.host.post({
        type: "notice",
        message: atlas
          ? `The atlas has no language "${language}".`
          : "There is no atlas for this model, so there is nothing to steer.",
      });
      this.postMasks();
      return;
    }
    try {
      await this.deps.masks.setScale(language, scale);
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      this.deps.log(`heatmap: could not set the scale of ${language}: ${message}`);
      this.host.post({ type: "notice", message: `Could not steer ${language}: ${message}` });
      this.postMasks();
    }
  }

  private async selectTokens(seq: number, from: number, to: number): Promise<void> {
    const r = this.route;
    if (!r || r.seq !== seq) {
      this.deps.log(`heatmap: dropped selectTokens for data ${seq}: the view shows ${r?.seq ?? "nothing"}`);
      return;
    }
    if (to > r.data.tokens.length) {
      this.deps.log(
        `heatmap: dropped selectTokens [${from}, ${to}): the data has ${r.data.tokens.length} tokens`,
      );
      return;
    }
    const { start, end } = tokenOffsets(
      r.target.text,
      r.target.base,
      r.data.tokens.map((t) => t.span),
      from,
      to,
    );
    this.expected = { uri: r.target.uri, start, end };
    const result = await this.host.select(r.target.uri, r.target.version, start, end);
    if (result === "ok") return;
    this.expected = undefined;
    if (result === "closed") this.host.post({ type: "notice", message: "That file is no longer open." });
    else {
      this.host.post({
        type: "notice",
        message: "The file has changed since this view was computed: recomputing.",
      });
      await this.computeRoute(true);
    }
  }

  /** The editor's selection changed (or another editor became active). */
  selectionChanged(ev: SelectionEvent): void {
    if (this.disposed) return;
    const x = this.expected;
    if (x && x.uri === ev.uri && x.start === ev.start && x.end === ev.end) return; // our own row selection
    this.expected = undefined;
    if (!this.pinned) return;
    // A plain click (an empty selection) keeps the view shown: only a new selection replaces it.
    if (ev.start === ev.end && (this.route || this.long)) return;
    if (!this.host.visible()) {
      this.dirty.selection = true;
      return;
    }
    if (this.timer !== undefined) this.clearTimer(this.timer);
    this.timer = this.setTimer(
      () => {
        this.timer = undefined;
        void this.computeRoute(false);
        if (this.tab === "ab") void this.computeCompare(false);
      },
      ev.editing ? this.typingDebounceMs : this.debounceMs,
    );
  }

  /** The masks changed (from the view, the command palette or the status bar). */
  masksChanged(): void {
    if (this.disposed) return;
    this.postMasks();
    if (!this.host.visible()) {
      this.dirty.masks = true;
      return;
    }
    // The code shown is routed again with the new masks (not the editor's selection, which
    // may be a token selected from this view).
    void this.computeRoute(false, "shown");
    if (this.tab === "ab") void this.computeCompare(false);
  }

  visibilityChanged(visible: boolean): void {
    if (!visible || this.disposed || !(this.dirty.selection || this.dirty.masks)) return;
    void this.catchUp(false);
  }

  dispose(): void {
    this.disposed = true;
    if (this.timer !== undefined) this.clearTimer(this.timer);
    this.routeRun?.abort();
    this.compareRun?.abort();
    this.cards.dispose();
  }
}

function copy(c: Continuation): Continuation {
  return {
    text: c.text,
    ids: [...c.ids],
    pieces: [...c.pieces],
    ...(c.logprobs ? { logprobs: { own: [...c.logprobs.own], other: [...c.logprobs.other] } } : {}),
  };
}
