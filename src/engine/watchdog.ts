// The client's watchdog over one engine process: it is hung when its heartbeat (heartbeat.ts)
// stops for `silenceMs` (the process is stopped or frozen: SIGSTOP, a debugger, swapping to
// death), or when it has had requests in progress and no progress for `stallMs` (its main
// thread is stuck: a deadlock, a run that never returns). Then `onHung` says why, once; the
// client kills the process, fails its requests and starts another on the next request.
// A late timer on the caller's side (its own thread was blocked, or the machine slept) is not
// taken for the engine's silence.
import type { Heartbeat } from "./protocol";

export interface WatchdogOptions {
  /** No heartbeat for this long: the process is stopped or frozen (default 15 s). */
  silenceMs?: number;
  /**
   * Requests in progress and none progressing for this long: the engine is stuck (default
   * 300 s: longer than the longest single forward pass, a full-context prompt of a large model
   * on a slow CPU).
   */
  stallMs?: number;
  /** The first heartbeat may take this long (the process loads its code; default 60 s). */
  firstBeatMs?: number;
}

export const WATCHDOG_DEFAULTS: Required<WatchdogOptions> = {
  silenceMs: 15_000,
  stallMs: 300_000,
  firstBeatMs: 60_000,
};

const seconds = (ms: number) => `${Math.round(ms / 100) / 10} s`;

export class Watchdog {
  private readonly o: Required<WatchdogOptions>;
  private lastHeard = performance.now();
  private lastTick = performance.now();
  private beating = false;
  private stalledMs = 0;
  private done = false;
  private readonly timer: ReturnType<typeof setInterval>;

  constructor(
    opts: WatchdogOptions,
    private readonly onHung: (why: string) => void,
  ) {
    this.o = { ...WATCHDOG_DEFAULTS, ...opts };
    const every = Math.max(50, Math.min(1000, this.o.silenceMs / 4));
    this.timer = setInterval(() => this.tick(every), every);
    this.timer.unref?.();
  }

  /** A heartbeat arrived. */
  beat(h: Heartbeat): void {
    this.beating = true;
    this.lastHeard = performance.now();
    this.stalledMs = h.busy > 0 ? h.stalledMs : 0;
  }

  stop(): void {
    this.done = true;
    clearInterval(this.timer);
  }

  private tick(every: number): void {
    if (this.done) return;
    const now = performance.now();
    const late = now - this.lastTick > every + this.o.silenceMs / 2;
    this.lastTick = now;
    if (late) {
      // We were not running (blocked, or the machine slept): give the engine a fresh interval.
      this.lastHeard = now;
      return;
    }
    const silent = now - this.lastHeard;
    const bound = this.beating ? this.o.silenceMs : Math.max(this.o.firstBeatMs, this.o.silenceMs);
    if (silent > bound)
      this.hung(`the engine process gave no sign of life for ${seconds(silent)} (it is stopped or frozen)`);
    else if (this.stalledMs > this.o.stallMs)
      this.hung(
        `the engine process made no progress on its request for ${seconds(this.stalledMs)} (it is stuck)`,
      );
  }

  private hung(why: string): void {
    this.stop();
    this.onHung(why);
  }
}
