// Helpers of the reliability tests: processes (alive, defunct children), a pid that is
// surely dead, a small tmpfs when this machine lets us mount one, and scratch folders.
import { spawnSync } from "node:child_process";
import { after } from "node:test";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { TEST_CACHE } from "../helpers/fixtures";

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** /proc/<pid>/stat: state and parent (the command name may hold spaces and parentheses). */
function procStat(pid: string): { state: string; ppid: number } | undefined {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, "utf8");
    const rest = s.slice(s.lastIndexOf(")") + 2).split(" ");
    return { state: rest[0]!, ppid: Number(rest[1]) };
  } catch {
    return undefined; // gone meanwhile
  }
}

/** Children of this process: all, and the defunct ones (zombies nobody reaped). Linux only. */
export function children(): { all: number[]; defunct: number[] } {
  const all: number[] = [];
  const defunct: number[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    const st = procStat(name);
    if (st?.ppid !== process.pid) continue;
    all.push(Number(name));
    if (st.state === "Z") defunct.push(Number(name));
  }
  return { all, defunct };
}

export const hasProc = existsSync("/proc/self/stat");

/** The pid of a process that has exited (and been reaped). */
export function deadPid(): number {
  const r = spawnSync(process.execPath, ["-e", ""]);
  if (r.pid === undefined) throw new Error("could not start a process");
  return r.pid;
}

export async function until(what: string, ok: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * Mounts a tmpfs of `size` at `dir` (a real full disk, or with "ro" a real read-only one);
 * returns false where mounting is not permitted (not root, no CAP_SYS_ADMIN).
 */
export function mountTmpfs(dir: string, size: string, readOnly = false): boolean {
  if (process.platform !== "linux") return false;
  mkdirSync(dir, { recursive: true });
  const r = spawnSync("mount", ["-t", "tmpfs", "-o", `size=${size}${readOnly ? ",ro" : ""}`, "tmpfs", dir], { encoding: "utf8" });
  return r.status === 0;
}

/** Makes a mounted tmpfs read-only, keeping what it holds. */
export function remountReadOnly(dir: string): boolean {
  return spawnSync("mount", ["-o", "remount,ro", dir]).status === 0;
}

export function unmount(dir: string): void {
  spawnSync("umount", [dir]);
}

/** A scratch folder for one test file, removed after it; `fresh(label)` makes a new empty folder in it. */
export function scratchDirs(prefix: string): { root: string; fresh: (label: string) => string } {
  const root = mkdtempSync(join(TEST_CACHE, "..", prefix));
  after(() => rmSync(root, { recursive: true, force: true }));
  let n = 0;
  return {
    root,
    fresh: (label: string) => {
      const d = join(root, `${++n}-${label}`);
      mkdirSync(d, { recursive: true });
      return d;
    },
  };
}
