// An expert card's data, as the extension sends it to the routing view (and `monet-lens
// expert --json` prints much the same), the checks of the expert fields in the view's
// messages, and the search box's grammar ("g0:359:356", "top experts of rust"). Types and
// pure functions only: shared by the extension, the webview and the tests.

/** An expert id as the view sends it: gGROUP:I:J (bounded, so a check of the model's shape follows). */
export const EXPERT_ID = /^g(\d{1,3}):(\d{1,6}):(\d{1,6})$/;
/** Most characters of a search. */
export const MAX_QUERY = 80;
/** A named expert set: letters, digits, space, _ . - (1 to 40 characters). */
export const SET_NAME = /^[A-Za-z0-9][A-Za-z0-9 _.-]{0,39}$/;
/** The largest scale a switch or an effect takes (above 1 amplifies the expert). */
export const MAX_SCALE = 10;
/** Where on-demand contexts come from. */
export const CONTEXT_SOURCES = ["file", "workspace"] as const;
export type ContextSource = (typeof CONTEXT_SOURCES)[number];

export interface CardClass {
  id: string;
  kind: "language" | "control";
  /** The expert's mean score Σ_h g1·g2 per token of the class. */
  mean: number;
  /** mean ÷ the expert's pooled mean over all the atlas corpus (1: as on any token). */
  lift: number;
}

export interface CardContext {
  path: string;
  /** 1-based. */
  line: number;
  score: number;
  before: string;
  token: string;
  after: string;
}

export interface ExpertCardData {
  expert: string;
  group: number;
  i: number;
  j: number;
  /** The atlas class that owns it (the ratio rule), if any. */
  owner: { id: string; kind: "language" | "control" } | null;
  /** Its mean score over all the atlas corpus's tokens (the baseline of the bars), and as a share of a token's mass. */
  pooledMean: number;
  pooledShare: number;
  /** Highest mean first. */
  classes: CardClass[];
  /** The atlas file's name. */
  atlas: string;
  /** Its top-activating tokens in the atlas corpus (read now, when the corpus is here and unchanged). */
  contexts: CardContext[];
  /** Why some (or all) corpus contexts are not shown. */
  missing: string[];
}

export interface RankedExpertRow {
  expert: string;
  mean: number;
  lift: number;
  /** The class with the next-highest mean and how many times higher this class's mean is (null: ∞). */
  next: string | null;
  ratio: number | null;
}

export interface ExpertListData {
  language: string;
  by: "score";
  experts: RankedExpertRow[];
}

export interface TokenChange {
  id: number;
  piece: string;
  /** Probabilities without and with the change, and after − before. */
  before: number;
  after: number;
  delta: number;
}

/** An expert's "effect here" (src/atlas/expert-effect.ts computes it). */
export interface ExpertEffect {
  expert: string;
  scale: number;
  /** KL(before ‖ after) of the next-token distribution, in nats. */
  kl: number;
  /** The most likely next token without and with the change. */
  top1: { before: TokenChange; after: TokenChange };
  /** The tokens whose probability rises most, and falls most. */
  up: TokenChange[];
  down: TokenChange[];
  /** Greedy continuations without and with the change. */
  continuation?: { before: string; after: string };
}

/** The switches that reach completions: experts scaled (0: masked), and the named sets. */
export interface ExpertSwitchesData {
  /** [expert, scale ≠ 1], sorted by expert. */
  scales: Array<[string, number]>;
  sets: Array<{ name: string; experts: string[] }>;
}

export type ExpertQuery =
  | { kind: "expert"; expert: string }
  | { kind: "language"; language: string; top: number }
  | { kind: "invalid"; error: string };

/**
 * What the search box asks for: an expert id (`g0:359:356`), or a language's strongest
 * experts (`rust`, `top experts of rust`, `top 10 experts of rust`, `experts of rust`).
 */
export function parseExpertQuery(raw: string): ExpertQuery {
  const q = raw.trim().replace(/\s+/g, " ");
  if (q === "")
    return { kind: "invalid", error: "Type an expert (g0:359:356) or a language (top experts of rust)." };
  if (q.length > MAX_QUERY) return { kind: "invalid", error: `At most ${MAX_QUERY} characters.` };
  if (/^g\d/i.test(q)) {
    const id = q.toLowerCase();
    return EXPERT_ID.test(id)
      ? { kind: "expert", expert: id }
      : { kind: "invalid", error: `"${q}" is not an expert id: write gGROUP:I:J, e.g. g0:359:356` };
  }
  const m =
    /^(?:(?:show )?(?:the )?(?:top|strongest)(?: (\d{1,3}))? )?(?:experts (?:of|for|in) )?([A-Za-z0-9][A-Za-z0-9_.+#-]{0,63})(?: experts)?$/i.exec(
      q,
    );
  if (!m)
    return { kind: "invalid", error: `Not understood: "${q}". Try g0:359:356 or "top experts of rust".` };
  const top = m[1] === undefined ? 20 : Math.min(100, Math.max(1, Number(m[1])));
  return { kind: "language", language: m[2]!.toLowerCase(), top };
}

/** The checks of the expert fields in the view's messages (messages.ts's table uses them). */
export function checkExpertField(
  kind: "expert" | "query" | "scale" | "setName" | "contextSource",
  name: string,
  v: unknown,
): string | undefined {
  switch (kind) {
    case "expert":
      return typeof v === "string" && EXPERT_ID.test(v) ? undefined : `${name} must be an expert id gG:I:J`;
    case "query":
      return typeof v === "string" && v.length <= MAX_QUERY
        ? undefined
        : `${name} must be a string of at most ${MAX_QUERY} characters`;
    case "scale":
      return typeof v === "number" && Number.isFinite(v) && v >= 0 && v <= MAX_SCALE
        ? undefined
        : `${name} must be a number in [0, ${MAX_SCALE}]`;
    case "setName":
      return typeof v === "string" && SET_NAME.test(v)
        ? undefined
        : `${name} must be 1 to 40 letters, digits, spaces, _ . or -, starting with a letter or digit`;
    case "contextSource":
      return typeof v === "string" && (CONTEXT_SOURCES as readonly string[]).includes(v)
        ? undefined
        : `${name} must be one of ${CONTEXT_SOURCES.join(", ")}`;
  }
}
