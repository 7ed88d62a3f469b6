// The messages between the extension and the routing view, both ways, and the validator of
// every message from the webview: the webview draws text from the user's files and is
// treated as untrusted. A message that is not exactly one of these shapes (type, fields,
// field types, ranges, string lengths, no extra fields) is logged and dropped.
import {
  checkExpertField,
  type ContextSource,
  type CardContext,
  type ExpertCardData,
  type ExpertEffect,
  type ExpertListData,
  type ExpertSwitchesData,
} from "./expert-card-data";
import type { Continuation, RouteData } from "./route-data";
import { COMPARE_SIDES, type CompareSide, type LanguageScales, MAX_STEER_SCALE } from "./steer";

// ---- webview → extension ----

export type Tab = "heatmap" | "ab" | "expert";
export const TABS: readonly Tab[] = ["heatmap", "ab", "expert"];

export type FromWebview =
  /** The page has loaded (also after it is shown again): send the state. */
  | { type: "ready" }
  /** Recompute for the editor's current selection (or function). */
  | { type: "refresh" }
  /** Follow the editor's selection (pinned) or not. */
  | { type: "setPinned"; pinned: boolean }
  /** Toggle the mask of an atlas language (its column header was clicked). */
  | { type: "toggleMask"; language: string }
  /** Select tokens [from, to) of the route data `seq` in the editor (a row was clicked). */
  | { type: "selectTokens"; seq: number; from: number; to: number }
  /** The visible tab changed. */
  | { type: "setTab"; tab: Tab }
  /** Compute the A/B comparison at the cursor now. */
  | { type: "runCompare" }
  /** Set a language's experts' scale (a slider moved): 0 masks, 1 leaves them alone. */
  | { type: "setScale"; language: string; scale: number }
  /** What each side of the A/B view runs under. */
  | { type: "setCompareSides"; a: CompareSide; b: CompareSide }
  /** Keep the current steering as the A/B view's saved setting. */
  | { type: "saveSteering" }
  /** A button of a status banner was pressed (STATUS_ACTIONS). */
  | { type: "action"; action: StatusAction }
  /** Save the view as drawn: an SVG document, or a PNG as base64. */
  | { type: "exportImage"; format: "svg" | "png"; data: string }
  /** Save the routing data shown (the extension has it) as JSON or CSV. */
  | { type: "exportData"; format: "json" | "csv" }
  // ---- expert cards (src/heatmap/expert-cards.ts) ----
  /** Open an expert's card (clicked in a token's expert list, a ranking, or searched). */
  | { type: "openExpert"; expert: string }
  /** The search box: an expert id, or "top experts of LANG". */
  | { type: "findExperts"; query: string }
  /** Rank the expert's tokens in the open file or the workspace (runs the model). */
  | { type: "expertContexts"; expert: string; from: ContextSource }
  /** The expert's effect at the cursor with its routing score scaled by `scale` (0: off). */
  | { type: "expertEffect"; expert: string; scale: number }
  /** Scale the expert in completions (0 masks it, 1 removes the switch). */
  | { type: "setExpertScale"; expert: string; scale: number }
  /** Add the expert to a named expert set of this workspace (made if new). */
  | { type: "addToExpertSet"; expert: string; set: string }
  /** Scale every expert of a named set in completions (0 masks them, 1 removes their switches). */
  | { type: "applyExpertSet"; set: string; scale: number };

/**
 * The buttons a status banner may offer: commands that fix the state (select a model or an
 * atlas, build one, show the log) and, for a selection longer than the model reads, which
 * part to route.
 */
export const STATUS_ACTIONS = [
  "selectModelFolder",
  "buildAtlas",
  "selectAtlas",
  "showLog",
  "refresh",
  "routeStart",
  "routeCursor",
] as const;
export type StatusAction = (typeof STATUS_ACTIONS)[number];

/** The largest exported image the extension accepts from the page (characters). */
export const MAX_EXPORT_CHARS = 48_000_000;

export const MAX_LANGUAGE_ID = 64;
/** A language id: what atlases use (VS Code language ids: python, cpp, shellscript, objective-c…). */
export const LANGUAGE_ID = /^[A-Za-z0-9][A-Za-z0-9_.+#-]*$/;
export const MAX_TOKEN_INDEX = 1_000_000;

export type Parsed = { ok: true; message: FromWebview } | { ok: false; error: string };

type Field =
  | "languageScale"
  | "side"
  | "boolean"
  | "tab"
  | "language"
  | "seq"
  | "index"
  | "end"
  | "action"
  | "image"
  | "payload"
  | "dataFormat"
  | "expert"
  | "query"
  | "scale"
  | "setName"
  | "contextSource";

const SHAPES: Readonly<Record<FromWebview["type"], Readonly<Record<string, Field>>>> = {
  ready: {},
  refresh: {},
  setPinned: { pinned: "boolean" },
  toggleMask: { language: "language" },
  selectTokens: { seq: "seq", from: "index", to: "end" },
  setTab: { tab: "tab" },
  runCompare: {},
  setScale: { language: "language", scale: "languageScale" },
  setCompareSides: { a: "side", b: "side" },
  saveSteering: {},
  action: { action: "action" },
  exportImage: { format: "image", data: "payload" },
  exportData: { format: "dataFormat" },
  openExpert: { expert: "expert" },
  findExperts: { query: "query" },
  expertContexts: { expert: "expert", from: "contextSource" },
  expertEffect: { expert: "expert", scale: "scale" },
  setExpertScale: { expert: "expert", scale: "scale" },
  addToExpertSet: { expert: "expert", set: "setName" },
  applyExpertSet: { set: "setName", scale: "scale" },
};

function describe(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "an array";
  if (typeof v === "string") return `a string of ${v.length} characters`;
  return typeof v;
}

function checkField(name: string, kind: Field, v: unknown): string | undefined {
  switch (kind) {
    case "boolean":
      return typeof v === "boolean" ? undefined : `${name} must be a boolean, not ${describe(v)}`;
    case "tab":
      return typeof v === "string" && (TABS as readonly string[]).includes(v)
        ? undefined
        : `${name} must be one of ${TABS.join(", ")}`;
    case "language":
      if (typeof v !== "string") return `${name} must be a string, not ${describe(v)}`;
      if (v.length < 1 || v.length > MAX_LANGUAGE_ID)
        return `${name} must have 1 to ${MAX_LANGUAGE_ID} characters, not ${v.length}`;
      return LANGUAGE_ID.test(v) ? undefined : `${name} is not a language id`;
    case "seq":
      return Number.isSafeInteger(v) && (v as number) >= 0
        ? undefined
        : `${name} must be a non-negative integer`;
    case "index":
      return Number.isInteger(v) && (v as number) >= 0 && (v as number) < MAX_TOKEN_INDEX
        ? undefined
        : `${name} must be an integer in [0, ${MAX_TOKEN_INDEX})`;
    case "action":
      return typeof v === "string" && (STATUS_ACTIONS as readonly string[]).includes(v)
        ? undefined
        : `${name} must be one of ${STATUS_ACTIONS.join(", ")}`;
    case "image":
      return v === "svg" || v === "png" ? undefined : `${name} must be svg or png`;
    case "dataFormat":
      return v === "json" || v === "csv" ? undefined : `${name} must be json or csv`;
    case "payload":
      if (typeof v !== "string") return `${name} must be a string, not ${describe(v)}`;
      return v.length >= 1 && v.length <= MAX_EXPORT_CHARS
        ? undefined
        : `${name} must have 1 to ${MAX_EXPORT_CHARS} characters, not ${v.length}`;
    case "end":
      return Number.isInteger(v) && (v as number) >= 1 && (v as number) <= MAX_TOKEN_INDEX
        ? undefined
        : `${name} must be an integer in [1, ${MAX_TOKEN_INDEX}]`;
    case "languageScale":
      return typeof v === "number" && Number.isFinite(v) && v >= 0 && v <= MAX_STEER_SCALE
        ? undefined
        : `${name} must be a finite number in [0, ${MAX_STEER_SCALE}], not ${typeof v === "number" ? v : describe(v)}`;
    case "side":
      return typeof v === "string" && (COMPARE_SIDES as readonly string[]).includes(v)
        ? undefined
        : `${name} must be one of ${COMPARE_SIDES.join(", ")}`;
    default:
      return checkExpertField(kind, name, v);
  }
}

/** Validates a message from the webview. */
export function parseWebviewMessage(raw: unknown): Parsed {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw))
    return { ok: false, error: `a message must be an object, not ${describe(raw)}` };
  if (Object.getPrototypeOf(raw) !== Object.prototype)
    return { ok: false, error: "a message must be a plain object" };
  const rec = raw as Record<string, unknown>;
  const type = rec.type;
  if (typeof type !== "string" || !Object.hasOwn(SHAPES, type)) {
    return {
      ok: false,
      error:
        `unknown message type ` +
        `${typeof type === "string" ? JSON.stringify(type.slice(0, 40)) : describe(type)}`,
    };
  }
  const shape = SHAPES[type as FromWebview["type"]];
  for (const key of Object.keys(rec)) {
    if (key !== "type" && !Object.hasOwn(shape, key))
      return { ok: false, error: `${type}: unexpected field ${JSON.stringify(key.slice(0, 40))}` };
  }
  for (const [name, kind] of Object.entries(shape)) {
    if (!Object.hasOwn(rec, name)) return { ok: false, error: `${type}: missing field ${name}` };
    const why = checkField(name, kind, rec[name]);
    if (why) return { ok: false, error: `${type}: ${why}` };
  }
  if (type === "selectTokens" && (rec.to as number) <= (rec.from as number))
    return { ok: false, error: "selectTokens: to must be greater than from" };
  if (type === "exportImage") {
    const data = rec.data as string;
    if (rec.format === "svg" && !/^<svg[\s>]/.test(data))
      return { ok: false, error: "exportImage: an SVG must start with <svg" };
    if (rec.format === "png" && !/^[A-Za-z0-9+/]+={0,2}$/.test(data))
      return { ok: false, error: "exportImage: a PNG must be base64" };
  }
  return { ok: true, message: rec as FromWebview };
}

// ---- extension → webview ----

/** One side of the A/B view: which setting, its scales, and a label ("none", "−python, rust×2"). */
export interface CompareSideInfo {
  side: CompareSide;
  scales: LanguageScales;
  label: string;
}

export type ViewState =
  /** Working: the previous result, if any, stays visible, dimmed. */
  | "computing"
  /** No model is available (the message says why and what to do). */
  | "noModel"
  /** Nothing to route: no editor, or no selection and no function around the cursor. */
  | "noSelection"
  /** The A/B view has nothing to compare: no masks are active. */
  | "noMasks"
  /** The selection has more tokens than the model reads: route a part of it (actions say which). */
  | "tooLong"
  | "error"
  /** Done: clear the banner. */
  | "idle";

/** A button on a status banner: what it does and its label. */
export interface StatusButton {
  action: StatusAction;
  label: string;
}

/** Where the data came from, for the view's header. */
export interface SourceInfo {
  /** File name (not a path). */
  file: string;
  /** 1-based, inclusive. */
  startLine: number;
  endLine: number;
  /** What was routed (or, for the A/B view, "cursor"). */
  kind: "selection" | "function" | "block" | "cursor";
  /** The function's name when kind is "function". */
  name?: string;
  /** Only part of a selection longer than the model reads was routed: which, and how many tokens of how many. */
  part?: { which: "start" | "cursor"; tokens: number; of: number };
}

export type ToWebview =
  | { type: "init"; pinned: boolean; tab: Tab }
  /**
   * The current masks and the atlas's languages (undefined: no atlas); `scales`: every steered
   * language's scale (the masked ones at 0), for the sliders.
   */
  | { type: "masks"; masked: string[]; atlasLanguages: string[] | null; scales?: Record<string, number> }
  /** The A/B view's two sides and the saved setting (null: none saved yet). */
  | { type: "compareSides"; a: CompareSide; b: CompareSide; saved: Record<string, number> | null }
  | { type: "status"; view: Tab; state: ViewState; message: string; actions?: StatusButton[] }
  | { type: "route"; seq: number; data: RouteData; source: SourceInfo }
  | {
      type: "compare";
      seq: number;
      source: SourceInfo;
      masked: string[];
      promptTail: string;
      plain: Continuation;
      maskedResult: Continuation;
      /** The settings of the two sides (side A is `plain`, side B `maskedResult`). */
      sides?: { a: CompareSideInfo; b: CompareSideInfo };
    }
  /** A short message shown for a few seconds (e.g. a mask could not be toggled). */
  | { type: "notice"; message: string }
  // ---- expert cards ----
  | { type: "expertCard"; seq: number; card: ExpertCardData }
  | { type: "expertList"; seq: number; list: ExpertListData }
  /** On-demand contexts of the card's expert from the open file or the workspace. */
  | {
      type: "expertContexts";
      expert: string;
      from: ContextSource;
      contexts: CardContext[];
      tokens: number;
      files: number;
    }
  | { type: "expertEffect"; expert: string; effect: ExpertEffect; source: SourceInfo }
  | { type: "expertSwitches"; switches: ExpertSwitchesData };
