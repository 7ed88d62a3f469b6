// Opens an onnxruntime session on the best execution provider available: the user's
// choice, else CUDA → WebGPU → CPU, falling back with the reason when one fails.
import * as ort from "./ort";
import { availableParallelism } from "node:os";
import { isOutOfMemory, outOfMemoryAtLoad } from "./out-of-memory";
import { probeProviders, type EpPreference, type ProviderName, type ProviderProbe } from "./providers";

export interface OpenedSession {
  session: ort.InferenceSession;
  ep: ProviderName;
  /** Why providers before the chosen one were skipped or failed. */
  fallbacks: string[];
}

/** Creates an onnxruntime session (ort.InferenceSession.create; tests inject failures). */
export type SessionFactory = (
  modelPath: string,
  options: ort.InferenceSession.SessionOptions,
) => Promise<ort.InferenceSession>;

export interface SessionOptions {
  ep: EpPreference;
  /** Intra-op threads on CPU (default: all cores, at most 8). */
  threads?: number;
  /** Default: ort.InferenceSession.create. */
  create?: SessionFactory;
  /** Default: probeProviders() (what this machine can run). */
  probes?: ProviderProbe[];
  /**
   * onnxruntime's profiler: every run's node timings, written as a Chrome trace
   * `<prefix>_<date>.json` when the session ends (`endProfiling`). Off by default.
   */
  profilePrefix?: string;
}

/** The provider `openSession` will try first for a preference (before any run-time failure). */
export function plannedProvider(
  pref: EpPreference,
  probes: ProviderProbe[] = probeProviders(),
): ProviderName {
  const first = probes.find((p) => p.available && (pref === "auto" || p.name === pref));
  return first?.name ?? "cpu";
}

/** Most CPU threads a session may ask for (as the monetLens.threads setting allows). */
export const MAX_THREADS = 256;

/** `threads` unless it is more than MAX_THREADS (`source` names the flag or setting). */
export function checkThreads(threads: number, source: string): number {
  if (!Number.isInteger(threads) || threads < 1 || threads > MAX_THREADS)
    throw new RangeError(
      `${source}: ${threads} threads; use 1 to ${MAX_THREADS} (this machine has ${availableParallelism()} cores)`,
    );
  return threads;
}

export async function openSession(modelPath: string, opts: SessionOptions): Promise<OpenedSession> {
  if (opts.threads !== undefined) checkThreads(opts.threads, "threads");
  const probes = opts.probes ?? probeProviders();
  const create: SessionFactory =
    opts.create ?? ((path, options) => ort.InferenceSession.create(path, options));
  const order =
    opts.ep === "auto"
      ? probes
      : [
          ...probes.filter((p) => p.name === opts.ep),
          ...probes.filter((p) => p.name === "cpu" && opts.ep !== "cpu"),
        ];
  const fallbacks: string[] = [];
  let lastError: unknown;
  for (const probe of order) {
    if (!probe.available) {
      fallbacks.push(`${probe.name}: ${probe.reason}`);
      continue;
    }
    try {
      const session = await create(modelPath, {
        executionProviders: [probe.name],
        graphOptimizationLevel: "all",
        // Only for the CPU, and absent (not undefined) otherwise: onnxruntime-node rejects
        // `intraOpNumThreads: undefined` ("must be a number"), which failed every GPU session.
        // No memory patterns on the CPU: onnxruntime keeps one per combination of input shapes,
        // never dropped, and typing makes new ones (prompt length × cache length) all the time:
        // the engine's malloc heap grew about 1 MB/min under the typing load test with them and
        // stayed flat without; decoding and prefill were not slower (README, "Typing load").
        ...(probe.name === "cpu"
          ? { intraOpNumThreads: opts.threads ?? defaultThreads(), enableMemPattern: false }
          : {}),
        interOpNumThreads: 1,
        executionMode: "sequential",
        logSeverityLevel: 3,
        ...(opts.profilePrefix ? { enableProfiling: true, profileFilePrefix: opts.profilePrefix } : {}),
      });
      return { session, ep: probe.name, fallbacks };
    } catch (e) {
      lastError = e;
      fallbacks.push(`${probe.name}: session creation failed: ${firstLine(e)}`);
    }
  }
  if (isOutOfMemory(lastError)) throw outOfMemoryAtLoad(modelPath, lastError);
  throw new Error(`no execution provider could open ${modelPath}:\n  ${fallbacks.join("\n  ")}`);
}

function defaultThreads(): number {
  return Math.max(1, Math.min(8, availableParallelism()));
}

function firstLine(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  const line = msg.split("\n").find((l) => l.trim()) ?? msg;
  return line.length > 300 ? `${line.slice(0, 300)}…` : line;
}
