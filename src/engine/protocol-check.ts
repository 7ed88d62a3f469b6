// The validators of every message between the engine client and the engine process, both
// ways, like the webview's (src/heatmap-shared/messages.ts): a message that is not exactly one
// of protocol.ts's shapes (type, fields, field types, ranges, lengths, no extra fields) is
// refused with an error that says which field is wrong, before anything reads it. The engine
// process answers a refused request with an error; the client takes a refused answer as a
// broken engine (it ends and restarts it), so neither side crashes or waits forever.
//
// The client's side runs in the extension host, which never loads onnxruntime: nothing here
// may import engine.ts or session.ts at run time, so their two lists are repeated below and
// test/engine/protocol-check.test.ts checks that they agree.
import { CONFIG_LIMITS } from "../checkpoint/config";
import type { GraphDtype } from "../model/monet-graph";
import type { DtypeChoice } from "./engine";
import type { StopReason } from "./generate";
import type { Heartbeat, Request, Response } from "./protocol";
import { EP_PREFERENCES } from "./providers";

/** engine.ts DTYPE_CHOICES. */
export const PROTOCOL_DTYPES = [
  "auto",
  "float32",
  "float16",
  "int8",
  "int4",
] as const satisfies readonly DtypeChoice[];
// A dtype added to DtypeChoice and not here fails the type check (and would be refused on the wire).
const everyDtype: Exclude<DtypeChoice, (typeof PROTOCOL_DTYPES)[number]> extends never ? true : false = true;
void everyDtype;
/** The graph dtypes (what `auto` becomes): model/monet-graph.ts GRAPH_DTYPES. */
export const PROTOCOL_GRAPH_DTYPES = PROTOCOL_DTYPES.filter((d): d is GraphDtype => d !== "auto");
/** session.ts MAX_THREADS. */
export const PROTOCOL_MAX_THREADS = 256;

export type Checked<T> = { ok: true; value: T } | { ok: false; error: string; id?: number };

/** A field's check: undefined when `v` is good, else what is wrong with it. */
type Check = (v: unknown, name: string) => string | undefined;

/** Bounds of the protocol's sizes: generous for real use, small enough that nothing explodes. */
export const PROTOCOL_LIMITS = {
  /** A prompt or a routed text, characters (the heatmap sends at most 60,000; `route --file` 4 MB). */
  textChars: 16 << 20,
  /** Token ids in a request or an answer (the longest context any config may give). */
  tokens: CONFIG_LIMITS.max_position_embeddings!,
  /** Token ids go up to the largest vocabulary a config may give. */
  vocab: CONFIG_LIMITS.vocab_size!,
  stopStrings: 256,
  stopStringChars: 4096,
  /** A path, characters. */
  pathChars: 4096,
  /** A log line, an error message, a label, characters. */
  lineChars: 1 << 20,
  listItems: 1024,
  routingGroups: CONFIG_LIMITS.moe_groups!,
  /** A day: longer is a mistake, not a budget. */
  timeLimitMs: 86_400_000,
} as const;

function describe(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return `an array of ${v.length}`;
  if (typeof v === "string") return `a string of ${v.length} characters`;
  if (typeof v === "number") return String(v);
  if (ArrayBuffer.isView(v)) return v.constructor.name;
  return typeof v;
}

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" &&
  v !== null &&
  !Array.isArray(v) &&
  (Object.getPrototypeOf(v) === Object.prototype || Object.getPrototypeOf(v) === null);

const int =
  (min: number, max = Number.MAX_SAFE_INTEGER): Check =>
  (v, name) =>
    Number.isSafeInteger(v) && (v as number) >= min && (v as number) <= max
      ? undefined
      : `${name} must be an integer from ${min} to ${max}, not ${describe(v)}`;

const num =
  (min: number, max: number, minOpen = false): Check =>
  (v, name) =>
    typeof v === "number" && Number.isFinite(v) && (minOpen ? v > min : v >= min) && v <= max
      ? undefined
      : `${name} must be a finite number ${minOpen ? ">" : "≥"} ${min} and ≤ ${max}, not ${describe(v)}`;

const bool: Check = (v, name) =>
  typeof v === "boolean" ? undefined : `${name} must be a boolean, not ${describe(v)}`;

const str =
  (maxChars: number, minChars = 0): Check =>
  (v, name) => {
    if (typeof v !== "string") return `${name} must be a string, not ${describe(v)}`;
    if (v.length < minChars || v.length > maxChars)
      return `${name} must have ${minChars} to ${maxChars} characters, not ${v.length}`;
    return undefined;
  };

const path: Check = (v, name) =>
  str(PROTOCOL_LIMITS.pathChars, 1)(v, name) ??
  ((v as string).includes("\0") ? `${name} must not contain NUL characters` : undefined);

const oneOf =
  (values: readonly string[]): Check =>
  (v, name) =>
    typeof v === "string" && values.includes(v) ? undefined : `${name} must be one of ${values.join(", ")}`;

const arr =
  (item: Check, maxItems: number, exactly?: number): Check =>
  (v, name) => {
    if (!Array.isArray(v)) return `${name} must be an array, not ${describe(v)}`;
    if (v.length > maxItems) return `${name} must have at most ${maxItems} items, not ${v.length}`;
    if (exactly !== undefined && v.length !== exactly)
      return `${name} must have ${exactly} items, not ${v.length}`;
    for (let i = 0; i < v.length; i++) {
      const why = item(v[i], `${name}[${i}]`);
      if (why) return why;
    }
    return undefined;
  };

const float32s: Check = (v, name) =>
  v instanceof Float32Array ? undefined : `${name} must be a Float32Array, not ${describe(v)}`;

/** `check`, or absent (undefined: the sender's optional fields travel as undefined). */
const optional =
  (check: Check): Check =>
  (v, name) =>
    v === undefined ? undefined : check(v, name);

/** A plain object with exactly these fields (optional ones may be absent), each passing its check. */
const obj =
  (shape: Readonly<Record<string, Check>>, extraFields = false): Check =>
  (v, name) => {
    if (!isPlainObject(v)) return `${name} must be an object, not ${describe(v)}`;
    if (!extraFields)
      for (const key of Object.keys(v))
        if (!Object.hasOwn(shape, key))
          return `${name}: unexpected field ${JSON.stringify(key.slice(0, 40))}`;
    for (const [key, check] of Object.entries(shape)) {
      const why = check(v[key], `${name}.${key}`);
      if (why) return why;
    }
    return undefined;
  };

const L = PROTOCOL_LIMITS;
/** Request ids are positive; 0 in an answer means "no request" (a refused message without a usable id). */
const requestId = int(1);
const count = int(0);
const tokenId = int(0, L.vocab - 1);
const line = str(L.lineChars);

// The engine process checks the steering's content against the model (steeringFromWire):
// here only its form, so that nothing unbounded reaches that check.
const steeringWire = obj({
  experts: int(1, CONFIG_LIMITS.moe_experts!),
  groups: arr(
    obj({
      indices: arr(int(0, CONFIG_LIMITS.moe_experts! ** 2 - 1), CONFIG_LIMITS.moe_experts! ** 2),
      scales: arr(num(0, Number.MAX_VALUE), CONFIG_LIMITS.moe_experts! ** 2),
    }),
    L.routingGroups,
  ),
  label: str(L.lineChars),
});

const structureRule: Check = (v, name) => {
  if (isPlainObject(v) && v.kind === "line") return obj({ kind: oneOf(["line"]) })(v, name);
  if (isPlainObject(v) && v.kind === "block")
    return obj({ kind: oneOf(["block"]), indent: int(0, 1 << 20), tabSize: optional(int(1, 64)) })(v, name);
  return `${name} must be {kind: "line"} or {kind: "block", indent, tabSize?}`;
};

const REQUESTS: Readonly<Record<Request["type"], Readonly<Record<string, Check>>>> = {
  open: {
    params: obj({
      modelDir: optional(path),
      ep: optional(oneOf(EP_PREFERENCES)),
      dtype: optional(oneOf(PROTOCOL_DTYPES)),
      cacheDir: optional(path),
      threads: optional(int(1, PROTOCOL_MAX_THREADS)),
    }),
  },
  generate: {
    params: obj({
      prompt: optional(str(L.textChars)),
      ids: optional(arr(tokenId, L.tokens)),
      maxTokens: int(0, L.tokens),
      temperature: optional(num(0, 1000)),
      topP: optional(num(0, 1, true)),
      seed: optional(int(Number.MIN_SAFE_INTEGER)),
      stopStrings: optional(arr(str(L.stopStringChars, 1), L.stopStrings)),
      stopTokens: optional(arr(tokenId, L.listItems)),
      timeLimitMs: optional(num(0, L.timeLimitMs)),
      ignoreEos: optional(bool),
      steering: optional(steeringWire),
      structure: optional(structureRule),
    }),
  },
  cancel: { target: requestId },
  route: { text: str(L.textChars), steering: optional(steeringWire) },
  score: { ids: arr(tokenId, L.tokens), from: int(0, L.tokens), steering: optional(steeringWire) },
  nextLogits: {
    prompt: optional(str(L.textChars)),
    ids: optional(arr(tokenId, L.tokens)),
    steering: optional(steeringWire),
  },
  stats: {},
  close: {},
};

/** The fields of a message after `type` (and `id` where it has one), checked by `shape`. */
function checkMessage<T>(
  raw: unknown,
  shapes: Readonly<Record<string, Readonly<Record<string, Check>>>>,
  what: string,
): Checked<T> {
  if (!isPlainObject(raw)) return { ok: false, error: `${what} must be an object, not ${describe(raw)}` };
  const type = raw.type;
  if (typeof type !== "string" || !Object.hasOwn(shapes, type))
    return {
      ok: false,
      error: `unknown ${what} type ${typeof type === "string" ? JSON.stringify(type.slice(0, 40)) : describe(type)}`,
    };
  // The id is read first, so that a refusal can answer the request it belongs to.
  const id = Number.isSafeInteger(raw.id) && (raw.id as number) > 0 ? (raw.id as number) : undefined;
  const why = obj(shapes[type]!)(raw, type);
  return why ? { ok: false, error: `malformed ${what}: ${why}`, id } : { ok: true, value: raw as T };
}

const REQUEST_SHAPES = Object.fromEntries(
  Object.entries(REQUESTS).map(([type, fields]) => [type, { type: oneOf([type]), id: requestId, ...fields }]),
);

/** Validates a request received by the engine process. */
export function parseRequest(raw: unknown): Checked<Request> {
  return checkMessage<Request>(raw, REQUEST_SHAPES, "request");
}

// ---- engine → client ----

const STOP_REASONS: readonly StopReason[] = [
  "eos",
  "stop-token",
  "stop-string",
  "structure",
  "max-tokens",
  "time-limit",
  "context-full",
  "cancelled",
];

const ms = num(0, Number.MAX_VALUE);

const generateResult = obj({
  text: str(L.textChars),
  ids: arr(tokenId, L.tokens),
  promptTokens: int(0, L.tokens),
  reusedTokens: int(0, L.tokens),
  prefillMs: ms,
  decodeMs: ms,
  decodeTokensPerS: ms,
  stopReason: oneOf(STOP_REASONS),
});

const routedShape = obj({
  tokens: int(0, L.tokens),
  heads: int(1, CONFIG_LIMITS.moe_heads!),
  experts: int(1, CONFIG_LIMITS.moe_experts!),
  groups: int(1, L.routingGroups),
});

/** The routing answer: its fields, then its arrays' lengths against its shape. */
const routedText: Check = (v, name) => {
  const why = obj({
    ids: arr(tokenId, L.tokens),
    spans: arr(arr(int(0, L.textChars), 2, 2), L.tokens),
    pieces: arr(str(L.lineChars), L.tokens),
    routing: obj({ g1: arr(float32s, L.routingGroups), g2: arr(float32s, L.routingGroups) }),
    shape: routedShape,
  })(v, name);
  if (why) return why;
  const r = v as {
    ids: unknown[];
    spans: unknown[];
    pieces: unknown[];
    routing: { g1: Float32Array[]; g2: Float32Array[] };
    shape: { tokens: number; heads: number; experts: number; groups: number };
  };
  const { tokens, heads, experts, groups } = r.shape;
  if (r.ids.length !== tokens || r.spans.length !== tokens || r.pieces.length !== tokens)
    return `${name}: ids, spans and pieces must have shape.tokens (${tokens}) items`;
  if (r.routing.g1.length !== groups || r.routing.g2.length !== groups)
    return `${name}: routing must have shape.groups (${groups}) arrays`;
  const cells = tokens * heads * experts;
  for (const a of [...r.routing.g1, ...r.routing.g2])
    if (a.length !== cells) return `${name}: a routing array has ${a.length} values, not T·H·E = ${cells}`;
  return undefined;
};

const engineInfo = obj({
  modelDir: path,
  ep: str(64, 1),
  fallbacks: arr(line, L.listItems),
  convertedDir: path,
  dtype: oneOf(PROTOCOL_GRAPH_DTYPES),
  // The checkpoint reader validated the configuration; here, the fields the callers read.
  config: obj(
    {
      vocabSize: int(1, L.vocab),
      maxPositionEmbeddings: int(1, L.tokens),
      moeExperts: int(1, CONFIG_LIMITS.moe_experts!),
      moeHeads: int(1, CONFIG_LIMITS.moe_heads!),
      numLayers: int(1, CONFIG_LIMITS.num_hidden_layers!),
    },
    true,
  ),
  identity: obj({
    name: str(L.pathChars),
    fingerprint: str(256, 1),
    config: obj({
      layers: int(1, CONFIG_LIMITS.num_hidden_layers!),
      hiddenSize: int(1, CONFIG_LIMITS.hidden_size!),
      vocabSize: int(1, L.vocab),
      routingGroups: int(1, L.routingGroups),
      moeHeads: int(1, CONFIG_LIMITS.moe_heads!),
      moeExperts: int(1, CONFIG_LIMITS.moe_experts!),
      decompose: oneOf(["vertical", "horizontal"]),
    }),
  }),
});

const RESPONSES: Readonly<Record<Response["type"], Readonly<Record<string, Check>>>> = {
  log: { line },
  progress: { done: count, total: count, what: str(L.lineChars) },
  provider: { ep: str(64, 1), dtype: oneOf(PROTOCOL_GRAPH_DTYPES), fallbacks: arr(line, L.listItems) },
  text: { id: requestId, text: str(L.textChars) },
  opened: { id: requestId, info: engineInfo },
  generated: { id: requestId, result: generateResult },
  routed: { id: requestId, result: routedText },
  logits: { id: requestId, logits: float32s },
  scored: { id: requestId, result: arr(num(-Number.MAX_VALUE, 0), L.tokens) },
  closed: { id: requestId },
  stats: {
    id: requestId,
    stats: obj({
      generations: count,
      cancelled: count,
      running: count,
      maxRunning: count,
      pendingCancels: count,
      rss: num(0, Number.MAX_VALUE),
      heapTotal: num(0, Number.MAX_VALUE),
      heapUsed: num(0, Number.MAX_VALUE),
      external: num(0, Number.MAX_VALUE),
      arrayBuffers: num(0, Number.MAX_VALUE),
    }),
  },
  error: { id: int(0), message: line },
};

const RESPONSE_SHAPES = Object.fromEntries(
  Object.entries(RESPONSES).map(([type, fields]) => [type, { type: oneOf([type]), ...fields }]),
);

/** Validates a message received from the engine process. */
export function parseResponse(raw: unknown): Checked<Response> {
  return checkMessage<Response>(raw, RESPONSE_SHAPES, "message from the engine");
}

/** Most characters of one heartbeat line (a few dozen in practice). */
export const HEARTBEAT_LINE_CHARS = 200;

const heartbeat = obj({ busy: count, stalledMs: ms });

/** Validates one line of the engine process's heartbeat pipe. */
export function parseHeartbeat(text: string): Checked<Heartbeat> {
  if (text.length > HEARTBEAT_LINE_CHARS)
    return { ok: false, error: `a heartbeat line of ${text.length} characters` };
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return { ok: false, error: `a heartbeat that is not JSON: ${JSON.stringify(text.slice(0, 40))}` };
  }
  const why = heartbeat(raw, "heartbeat");
  return why ? { ok: false, error: why } : { ok: true, value: raw as Heartbeat };
}
