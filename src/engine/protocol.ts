// Messages between the engine client (the caller) and the engine's child process; each is
// validated on arrival (protocol-check.ts).
import type { MonetConfig } from "../checkpoint/config";
import type { GraphDtype } from "../model/monet-graph";
import type { DtypeChoice, RoutedText } from "./engine";
import type { GenerateResult } from "./generate";
import type { ModelIdentity } from "./model-identity";
import type { EpPreference } from "./providers";
import type { SteeringWire } from "./steering";
import type { StructureRule } from "./structure-stop";

export interface OpenParams {
  modelDir?: string;
  ep?: EpPreference;
  dtype?: DtypeChoice;
  cacheDir?: string;
  threads?: number;
}

export interface GenerateParams {
  prompt?: string;
  ids?: number[];
  maxTokens: number;
  temperature?: number;
  topP?: number;
  seed?: number;
  stopStrings?: string[];
  stopTokens?: number[];
  timeLimitMs?: number;
  ignoreEos?: boolean;
  /** Scaled or masked experts; the engine process checks them and recomputes their key. */
  steering?: SteeringWire;
  /** Code-structure stop rule (structure-stop.ts), evaluated after each token. */
  structure?: StructureRule;
}

export type Request =
  | { type: "open"; id: number; params: OpenParams }
  | { type: "generate"; id: number; params: GenerateParams }
  | { type: "cancel"; id: number; target: number }
  | { type: "route"; id: number; text: string; steering?: SteeringWire }
  /** The next-token logits after a prompt (text or ids), under a steering (expert cards' effect). */
  | { type: "nextLogits"; id: number; prompt?: string; ids?: number[]; steering?: SteeringWire }
  /** log p of ids[from:] given what precedes each, under the steering. */
  | { type: "score"; id: number; ids: number[]; from: number; steering?: SteeringWire }
  | { type: "stats"; id: number }
  | { type: "close"; id: number };

/** The engine process's counters (engine.ts EngineStats) and memory. */
export interface WorkerStats {
  generations: number;
  cancelled: number;
  running: number;
  maxRunning: number;
  /** Cancel requests held for generations that have not finished (should stay small). */
  pendingCancels: number;
  /** Resident set size of the engine process, bytes. */
  rss: number;
  /** Its V8 heap (committed, in use), and memory outside it held by JavaScript objects (ArrayBuffers among them), bytes. */
  heapTotal: number;
  heapUsed: number;
  external: number;
  arrayBuffers: number;
}

export interface EngineInfo {
  modelDir: string;
  ep: string;
  fallbacks: string[];
  /** The converted model's folder (for logs). */
  convertedDir: string;
  /** The graph's precision now (after `auto`; a float16 graph that overflowed runs float32). */
  dtype: GraphDtype;
  config: MonetConfig;
  /** The model's name, fingerprint and configuration summary (routingGroups among them). */
  identity: ModelIdentity;
}

/**
 * One line (JSON) a second on the engine process's heartbeat pipe, written by a thread of its
 * own (heartbeat.ts), so it goes on while onnxruntime blocks the main thread: `busy` requests
 * in progress, and for how long none of them has made progress (a token, a progress step).
 */
export interface Heartbeat {
  busy: number;
  stalledMs: number;
}

export type Response =
  | { type: "log"; line: string }
  | { type: "progress"; done: number; total: number; what: string }
  /**
   * The provider or precision changed after opening (a GPU failed at run time and the engine
   * moved to the CPU; a float16 graph overflowed and the engine moved to float32).
   */
  | { type: "provider"; ep: string; dtype: GraphDtype; fallbacks: string[] }
  | { type: "text"; id: number; text: string }
  | { type: "opened"; id: number; info: EngineInfo }
  | { type: "generated"; id: number; result: GenerateResult }
  | { type: "routed"; id: number; result: RoutedText }
  | { type: "logits"; id: number; logits: Float32Array }
  | { type: "scored"; id: number; result: number[] }
  | { type: "closed"; id: number }
  | { type: "stats"; id: number; stats: WorkerStats }
  | { type: "error"; id: number; message: string };
