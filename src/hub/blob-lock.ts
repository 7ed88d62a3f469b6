// One writer per blob across processes (two VS Code windows, a CLI run): a lock file created
// exclusively, holding the owner's pid. A lock whose owner is dead (killed, crashed) is taken
// over, so `kill -9` never blocks the next pull. Python uses flock on `<etag>.lock` in the same
// folder; ours has its own name so neither tool ever deletes the other's.
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, statSync, writeSync } from "node:fs";
import { dirname } from "node:path";
import { HubError } from "./errors";

const POLL_MS = 200;
/** A lock file without a readable pid (being written) is stale after this. */
const UNREADABLE_STALE_MS = 5000;

function ownerAlive(path: string): boolean {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch {
    return false; // gone meanwhile
  }
  const pid = Number(text);
  if (!Number.isInteger(pid) || pid <= 0) {
    try {
      return Date.now() - statSync(path).mtimeMs < UNREADABLE_STALE_MS;
    } catch {
      return false;
    }
  }
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Waits for the lock at `path`; the returned function releases it. */
export async function acquireBlobLock(
  path: string,
  signal: AbortSignal | undefined,
  onWait: () => void,
): Promise<() => void> {
  mkdirSync(dirname(path), { recursive: true });
  for (let waited = false; ; waited = true) {
    try {
      const fd = openSync(path, "wx");
      writeSync(fd, String(process.pid));
      closeSync(fd);
      return () => rmSync(path, { force: true });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
    }
    if (!ownerAlive(path)) {
      rmSync(path, { force: true });
      continue;
    }
    if (signal?.aborted) throw new HubError("download cancelled", "cancelled");
    if (!waited) onWait();
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}
