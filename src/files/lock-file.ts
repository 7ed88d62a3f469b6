// A lock file that says who holds it, so that a lock nobody holds any more is recognised
// rather than waited on: {"pid", "started" (the process's start time, Linux), "host"}.
// The holder refreshes the file's time every few seconds. A lock is taken over when its
// process has ended, when its pid now belongs to another process (the start time differs, or
// for a lock of an older version, the process is not a Node/Electron process), or when it has
// not been refreshed for LOCK_STALE_MS (a hung holder, or one on another machine sharing the
// folder). Until then the caller waits, with a log line naming the file and what to do.
import { closeSync, openSync, readFileSync, rmSync, statSync, utimesSync, writeSync } from "node:fs";
import { hostname } from "node:os";
import { FileAccessError, readRegularText } from "./regular-file";

/** A lock not refreshed for this long is taken over. */
export const LOCK_STALE_MS = 2 * 60 * 1000;
const REFRESH_MS = 10 * 1000;
/** Locks written by older versions (a bare pid, never refreshed) with a live Node owner. */
const LEGACY_STALE_MS = 30 * 60 * 1000;
const POLL_MS = 200;

interface LockOwner {
  pid: number;
  started?: string;
  host?: string;
}

export interface LockOptions {
  signal?: AbortSignal;
  log?: (line: string) => void;
  /** What the holder is doing, for messages: "converting the model". */
  doing: string;
}

/** The start time of process `pid` in clock ticks since boot (Linux), or undefined. */
export function processStartTime(pid: number): string | undefined {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, "utf8");
    return s.slice(s.lastIndexOf(")") + 2).split(" ")[19];
  } catch {
    return undefined;
  }
}

/** The program process `pid` runs (argv[0]), or undefined where /proc cannot tell. */
function processProgram(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0")[0];
  } catch {
    return undefined;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * Takes the lock at `path`, waiting while another live process holds it. Returns the
 * release function (which also stops the refreshing).
 */
export async function acquireLock(path: string, opts: LockOptions): Promise<() => void> {
  const me: LockOwner = { pid: process.pid, started: processStartTime(process.pid), host: hostname() };
  for (let waited = 0; ; waited += POLL_MS) {
    try {
      const fd = openSync(path, "wx");
      try {
        writeSync(fd, JSON.stringify(me));
      } finally {
        closeSync(fd);
      }
      const timer = setInterval(() => {
        const now = new Date();
        try {
          utimesSync(path, now, now);
        } catch {
          // removed meanwhile (taken over as stale): nothing to refresh
        }
      }, REFRESH_MS);
      timer.unref();
      return () => {
        clearInterval(timer);
        rmSync(path, { force: true });
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
    }
    const stale = staleReason(path);
    if (stale) {
      rmSync(path, { force: true });
      opts.log?.(`removed the lock ${path}: ${stale}`);
      continue;
    }
    if (opts.signal?.aborted) throw new Error(`cancelled while waiting for another process ${opts.doing}`);
    if (waited === 0)
      opts.log?.(
        `waiting for another process ${opts.doing} (lock ${path}, held by ${describeOwner(path)}); if no other Monet Lens window or command is ${opts.doing}, delete ${path}`,
      );
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

function readOwner(path: string): LockOwner | undefined {
  const text = readRegularText(path, { maxBytes: 4096, what: "lock file" }).trim();
  if (/^\d+$/.test(text)) return { pid: Number(text) }; // older versions wrote the bare pid
  try {
    const o = JSON.parse(text) as Partial<LockOwner>;
    if (Number.isSafeInteger(o.pid) && o.pid! > 0)
      return {
        pid: o.pid!,
        started: typeof o.started === "string" ? o.started : undefined,
        host: typeof o.host === "string" ? o.host : undefined,
      };
  } catch {
    // not JSON: a lock being written, or garbage
  }
  return undefined;
}

function describeOwner(path: string): string {
  try {
    const o = readOwner(path);
    return o
      ? `process ${o.pid}${o.host && o.host !== hostname() ? ` on ${o.host}` : ""}`
      : "an unknown process";
  } catch {
    return "an unknown process";
  }
}

/** Why the lock at `path` is held by nobody, or undefined while its holder may still be working. */
function staleReason(path: string): string | undefined {
  let age: number;
  let owner: LockOwner | undefined;
  try {
    age = Date.now() - statSync(path).mtimeMs;
    owner = readOwner(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined; // released meanwhile: retry
    if (e instanceof FileAccessError && e.problem === "missing") return undefined;
    throw new Error(
      `${path}: the lock file cannot be read (${e instanceof FileAccessError ? e.reason : (e as Error).message}); remove it`,
    );
  }
  const minutes = (ms: number) => `${Math.round(ms / 60_000)} minutes`;
  if (!owner) return age > 5000 ? "it does not name its process (damaged)" : undefined;
  const legacy = owner.started === undefined && owner.host === undefined;
  if (owner.host !== undefined && owner.host !== hostname())
    return age > LOCK_STALE_MS ? `${owner.host} has not refreshed it for ${minutes(age)}` : undefined;
  if (!alive(owner.pid)) return `process ${owner.pid}, which held it, has ended`;
  const started = processStartTime(owner.pid);
  if (owner.started !== undefined && started !== undefined && started !== owner.started)
    return `process ${owner.pid}, which held it, has ended (that pid now belongs to another program)`;
  if (legacy) {
    const program = processProgram(owner.pid);
    if (program !== undefined && !/node|electron|code|monet/i.test(program))
      return `process ${owner.pid} is ${JSON.stringify(program)}, not a Monet Lens process`;
    return age > LEGACY_STALE_MS ? `it is ${minutes(age)} old` : undefined;
  }
  return age > LOCK_STALE_MS
    ? `process ${owner.pid} has not refreshed it for ${minutes(age)} (it is hung or stopped)`
    : undefined;
}
