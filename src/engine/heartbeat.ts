// The engine process's heartbeat: a thread of its own writes one line a second to a pipe the
// client gave it (protocol.ts Heartbeat). onnxruntime's run() blocks the main thread for a
// whole forward pass (seconds for a long prompt), so the main thread could not beat
// regularly; a thread can, and still stops when the process is stopped (SIGSTOP, a debugger,
// a frozen machine). The main thread tells it, through shared memory, how many requests are
// in progress and when one of them last made progress; the thread reports for how long none
// has, so the client also sees a main thread stuck inside one run (watchdog.ts).
import { Worker } from "node:worker_threads";

/** The environment variable with the heartbeat pipe's file descriptor (set by the client). */
export const HEARTBEAT_FD_ENV = "MONET_ENGINE_HEARTBEAT_FD";
/** The child's file descriptor of the pipe: stdio index 4 (0–2 standard, 3 the IPC channel). */
export const HEARTBEAT_FD = 4;
export const HEARTBEAT_INTERVAL_MS = 1000;

/** What the main thread reports: a request began or ended, or made progress. */
export interface HeartbeatState {
  begin(): void;
  end(): void;
  progress(): void;
  /** Resolves once the first beat is written (at once when there is no pipe or no thread). */
  started: Promise<void>;
}

const BUSY = 0;
const PROGRESS = 1;

// The thread's code, as a string (the engine is bundled into one file: no second script).
// It compares the progress counter with the last value it saw, on its own monotonic clock.
const THREAD = `
const { parentPort, workerData } = require("node:worker_threads");
const { writeSync } = require("node:fs");
const state = new Int32Array(workerData.state);
let seen = -1;
let since = performance.now();
let timer;
const beat = () => {
  const busy = Atomics.load(state, ${BUSY});
  const progress = Atomics.load(state, ${PROGRESS});
  const now = performance.now();
  if (busy === 0 || progress !== seen) {
    seen = progress;
    since = now;
  }
  try {
    writeSync(workerData.fd, JSON.stringify({ busy, stalledMs: Math.round(now - since) }) + "\\n");
  } catch {
    clearInterval(timer); // the client is gone; the main thread exits on disconnect
  }
};
beat();
parentPort.postMessage("beating");
timer = setInterval(beat, workerData.intervalMs);
`;

/**
 * Starts the heartbeat thread when the client gave a pipe (a worker started some other way
 * beats nothing); returns the main thread's side.
 */
export function startHeartbeat(env: NodeJS.ProcessEnv = process.env): HeartbeatState {
  const state = new Int32Array(new SharedArrayBuffer(8));
  const fd = Number(env[HEARTBEAT_FD_ENV]);
  let started = Promise.resolve();
  if (Number.isInteger(fd) && fd > 2) {
    const thread = new Worker(THREAD, {
      eval: true,
      workerData: { state: state.buffer, fd, intervalMs: HEARTBEAT_INTERVAL_MS },
    });
    thread.unref();
    started = new Promise<void>((resolve) => {
      thread.once("message", () => resolve());
      // No heartbeat: the client's watchdog ends this process after its first-beat bound, saying why.
      thread.once("error", () => resolve());
    });
  }
  return {
    started,
    begin: () => void Atomics.add(state, BUSY, 1),
    end: () => void Atomics.sub(state, BUSY, 1),
    progress: () => void Atomics.add(state, PROGRESS, 1),
  };
}
