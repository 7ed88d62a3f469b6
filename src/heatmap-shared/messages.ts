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

export const MAX_LANGUAGE_ID = 64;
/** A language id: what atlases use (VS Code language ids: python, cpp, shellscript, objective-c…). */
export const LANGUAGE_ID = /^[A-Za-z0-9][A-Za-z0-9_.+#-]*$/;
export const MAX_TOKEN_INDEX = 1_000_000;

export type Parsed = { ok: true; message: FromWebview } | { ok: false; error: string };

type Field =
  | "boolean"
  | "tab"
  | "language"
  | "seq"
  | "index"
  | "end"
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
    case "end":
      return Number.isInteger(v) && (v as number) >= 1 && (v as number) <= MAX_TOKEN_INDEX
        ? undefined
        : `${name} must be an integer in [1, ${MAX_TOKEN_INDEX}]`;
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
  return { ok: true, message: rec as FromWebview };
}

// ---- extension → webview ----

export type ViewState =
  /** Working: the previous result, if any, stays visible, dimmed. */
  | "computing"
  /** No model is available (the message says why and what to do). */
  | "noModel"
  /** Nothing to route: no editor, or no selection and no function around the cursor. */
  | "noSelection"
  /** The A/B view has nothing to compare: no masks are active. */
  | "noMasks"
  | "error"
  /** Done: clear the banner. */
  | "idle";

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
}

export type ToWebview =
  | { type: "init"; pinned: boolean; tab: Tab }
  /** The current masks and the atlas's languages (undefined: no atlas). */
  | { type: "masks"; masked: string[]; atlasLanguages: string[] | null }
  | { type: "status"; view: Tab; state: ViewState; message: string }
  | { type: "route"; seq: number; data: RouteData; source: SourceInfo }
  | {
      type: "compare";
      seq: number;
      source: SourceInfo;
      masked: string[];
      promptTail: string;
      plain: Continuation;
      maskedResult: Continuation;
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
