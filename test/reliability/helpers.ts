// Helpers of the reliability tests: a small tmpfs when this machine lets us mount one, and
// scratch folders (process helpers: ../helpers/processes.ts).
import { spawnSync } from "node:child_process";
import { after } from "node:test";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { join } from "node:path";
import { loadConfig } from "../../src/checkpoint/config";
import type { ClientOptions } from "../../src/engine/engine-client";
import { modelIdentity } from "../../src/engine/model-identity";
import type { EngineInfo } from "../../src/engine/protocol";
import { DEMO_MODEL, TEST_CACHE } from "../helpers/fixtures";

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

/** Watchdog bounds short enough for tests. */
export const WATCHDOG = { silenceMs: 2000, stallMs: 2000 };

/**
 * EngineClient options that fork the stand-in engine (test/engine/fake-engine.ts) in `mode`
 * instead of the real one, with the demo model's description and WATCHDOG.
 */
export function fakeEngineOptions(mode: string): ClientOptions {
  const config = loadConfig(DEMO_MODEL);
  const info: EngineInfo = {
    modelDir: DEMO_MODEL,
    ep: "cpu",
    fallbacks: [],
    convertedDir: join(TEST_CACHE, "converted", "fake"),
    dtype: "float32",
    config,
    identity: modelIdentity(DEMO_MODEL, "f".repeat(64), config),
  };
  process.env.FAKE_ENGINE_MODE = mode;
  process.env.FAKE_ENGINE_INFO = JSON.stringify(info);
  return {
    engineScript: {
      script: join(__dirname, "..", "engine", "fake-engine.ts"),
      execArgv: ["--import", "tsx"],
    },
    watchdog: WATCHDOG,
  };
}
