// Helpers of the reliability tests: a small tmpfs when this machine lets us mount one, and
// scratch folders (process helpers: ../helpers/processes.ts).
import { spawnSync } from "node:child_process";
import { after } from "node:test";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { join } from "node:path";
import { TEST_CACHE } from "../helpers/fixtures";

/**
 * Mounts a tmpfs of `size` at `dir` (a real full disk, or with "ro" a real read-only one);
 * returns false where mounting is not permitted (not root, no CAP_SYS_ADMIN).
 */
export function mountTmpfs(dir: string, size: string, readOnly = false): boolean {
  if (process.platform !== "linux") return false;
  mkdirSync(dir, { recursive: true });
  const r = spawnSync("mount", ["-t", "tmpfs", "-o", `size=${size}${readOnly ? ",ro" : ""}`, "tmpfs", dir], {
    encoding: "utf8",
  });
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
