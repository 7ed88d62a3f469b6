// Process helpers of the tests: is a pid alive or gone, this process's (defunct) children,
// a pid that is surely dead, waiting for a condition, and the kernel's transparent huge pages mode.
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";

/** The process exists (signal 0 succeeds, or it is someone else's). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** The process no longer exists (not even as a zombie). */
export function gone(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return false;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "ESRCH";
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

/** A process's command line, its arguments joined by spaces ("" when it has ended). Linux only. */
export function commandLine(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").replace(/\0/g, " ").trim();
  } catch {
    return "";
  }
}

/** A process's parent, grandparent… up to init, each with its command line. Linux only. */
export function ancestors(pid: number): Array<{ pid: number; cmdline: string }> {
  const chain: Array<{ pid: number; cmdline: string }> = [];
  for (let p = procStat(String(pid))?.ppid; p && p > 0; p = procStat(String(p))?.ppid)
    chain.push({ pid: p, cmdline: commandLine(p) });
  return chain;
}

/** Processes whose command line includes `text`. Linux only. */
export function processesWith(text: string): number[] {
  return readdirSync("/proc")
    .filter((n) => /^\d+$/.test(n) && commandLine(Number(n)).includes(text))
    .map(Number);
}

/** The kernel's transparent huge pages mode ("always", "madvise", "never"), or undefined off Linux. */
export function transparentHugePagesMode(): string | undefined {
  const file = "/sys/kernel/mm/transparent_hugepage/enabled";
  return existsSync(file) ? /\[(\w+)\]/.exec(readFileSync(file, "utf8"))?.[1] : undefined;
}
